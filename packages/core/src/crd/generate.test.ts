import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { CRD_FILES, databaseCrd, renderCrd, serverCrd } from './generate.js';
import { toStructural } from './structural.js';
import { renderApiReference } from './docs.js';
import { API_REFERENCE, CRD_CHART_DIR } from './write.js';

type Node = Record<string, unknown>;

/** Every schema node, with its path. */
function* nodes(schema: Node, path = ''): Generator<[string, Node]> {
  yield [path, schema];
  for (const [k, v] of Object.entries((schema['properties'] as Record<string, Node> | undefined) ?? {})) yield* nodes(v, `${path}.${k}`);
  if (schema['items']) yield* nodes(schema['items'] as Node, `${path}[]`);
  if (typeof schema['additionalProperties'] === 'object') yield* nodes(schema['additionalProperties'] as Node, `${path}{}`);
}

const openApi = (crd: Node) => ((crd['spec'] as Node)['versions'] as Node[])[0]!['schema'] as { openAPIV3Schema: Node };

describe('CRD generation', () => {
  it.each([
    ['server', serverCrd, CRD_FILES.server],
    ['database', databaseCrd, CRD_FILES.database],
  ])('the committed %s CRD in the chart is up to date (run gen:crds)', (_kind, build, file) => {
    const committed = readFileSync(join(CRD_CHART_DIR, 'templates', file), 'utf8');
    expect(committed).toBe(renderCrd(build()));
  });

  it('the committed docs/api-reference.md is up to date (run gen:crds) and lists every field', () => {
    const text = renderApiReference();
    expect(readFileSync(API_REFERENCE, 'utf8')).toBe(text);
    for (const field of ['spec.maintenance.window.weekday', 'spec.network.firewallRules[].startIp', 'spec.serverRef.name', 'status.conditions[].reason']) expect(text).toContain(`\`${field}\``);
    expect(text).toContain('weekday must be one of Mon, Tue, Wed, Thu, Fri, Sat, Sun');
  });

  it.each([['server', serverCrd], ['database', databaseCrd]])('%s: structural, typed, documented, no TypeBox leftovers', (_kind, build) => {
    const schema = openApi(build()).openAPIV3Schema;
    for (const [path, node] of nodes(schema)) {
      expect(typeof node['type'], `${path} has a type`).toBe('string');
      for (const key of ['const', '$id', 'patternProperties', 'anyOf', 'oneOf', 'uniqueItems']) expect(node, `${path} has no ${key}`).not.toHaveProperty(key);
      const isField = path.startsWith('.spec.') || path.startsWith('.status.');
      const isItem = path.endsWith('[]') || path.endsWith('{}');
      if (isField && !isItem) expect(node['description'], `${path} has a description`).toEqual(expect.any(String));
      if (path.startsWith('.spec') && node['type'] === 'object' && !path.endsWith('serverParameters')) expect(node['additionalProperties'], `${path} rejects unknown fields`).toBeUndefined();
      if (path.startsWith('.spec') && node['type'] === 'string' && node['x-kubernetes-validations']) expect(node['maxLength'], `${path} bounds CEL cost`).toEqual(expect.any(Number));
    }
    expect((schema['properties'] as Record<string, Node>)['spec']!['x-kubernetes-preserve-unknown-fields']).toBeUndefined();
  });

  it('declares status subresource, printer columns, short names and category', () => {
    const server = serverCrd() as { spec: { names: Node; versions: Node[] } };
    expect(server.spec.names).toMatchObject({ shortNames: ['pg', 'postgre', 'postgres'], categories: ['hybridcloud'] });
    expect(server.spec.versions[0]!['subresources']).toEqual({ status: {} });
    expect((server.spec.versions[0]!['additionalPrinterColumns'] as Node[]).map((c) => c['name'])).toEqual(['Ready', 'Backend', 'Reason', 'Age']);
    const db = databaseCrd() as { spec: { names: Node; versions: Node[] } };
    expect((db.spec.versions[0]!['additionalPrinterColumns'] as Node[]).filter((c) => !c['priority']).map((c) => c['name'])).toEqual(['Server', 'Ready', 'Age']);
    const status = (openApi(db).openAPIV3Schema['properties'] as Record<string, Node>)['status']!;
    expect(status['x-kubernetes-preserve-unknown-fields']).toBeUndefined();
    expect((status['properties'] as Record<string, Node>)['kopf']!['x-kubernetes-preserve-unknown-fields']).toBe(true);
  });

  it('maps TypeBox unions and records, and refuses what Kubernetes cannot express', () => {
    expect(toStructural(Type.Union([Type.Literal('a'), Type.Literal('b')], { description: 'd' }))).toEqual({ type: 'string', enum: ['a', 'b'], description: 'd' });
    expect(toStructural(Type.Union([Type.String(), Type.Null()]))).toEqual({ type: 'string', nullable: true });
    expect(toStructural(Type.Record(Type.String(), Type.Integer()))).toEqual({ type: 'object', additionalProperties: { type: 'integer' } });
    expect(() => toStructural(Type.Object({ x: Type.Union([Type.String(), Type.Integer()]) }), 'spec')).toThrow('spec.x: unions other than');
    expect(() => toStructural(Type.Object({ x: Type.Unknown() }), 'spec')).toThrow('spec.x: every node of a structural schema needs a single type');
  });
});
