/**
 * A Markdown reference of both resources, generated from the same structural schemas as the CRDs
 * (docs/api-reference.md, written by gen:crds; a test fails when it is stale).
 */
import { databaseCrd, serverCrd } from './generate.js';
import type { JSONSchemaProps } from './structural.js';

interface Row {
  path: string;
  type: string;
  rules: string;
  description: string;
}

function typeOf(s: JSONSchemaProps): string {
  if (s['type'] === 'array') return `[]${typeOf(s['items'] as JSONSchemaProps)}`;
  if (s['type'] === 'object' && s['additionalProperties']) return `map[string]${typeOf(s['additionalProperties'] as JSONSchemaProps)}`;
  return String(s['type']);
}

function rulesOf(s: JSONSchemaProps, required: boolean): string {
  const r: string[] = [];
  if (required) r.push('required');
  if (s['enum']) r.push(`one of ${(s['enum'] as unknown[]).map((v) => `\`${String(v)}\``).join(', ')}`);
  if (s['minimum'] !== undefined) r.push(`>= ${String(s['minimum'])}`);
  if (s['maximum'] !== undefined) r.push(`<= ${String(s['maximum'])}`);
  if (s['maxLength'] !== undefined) r.push(`max ${String(s['maxLength'])} chars`);
  if (s['maxItems'] !== undefined) r.push(`max ${String(s['maxItems'])} items`);
  if (s['x-kubernetes-list-type'] === 'set' || s['x-kubernetes-list-type'] === 'map') r.push('no duplicates');
  for (const v of (s['x-kubernetes-validations'] as Array<{ message: string }> | undefined) ?? []) r.push(v.message);
  return r.join('; ');
}

function rows(s: JSONSchemaProps, path: string, required: boolean, out: Row[]): Row[] {
  out.push({ path, type: typeOf(s), rules: rulesOf(s, required), description: String(s['description'] ?? '') });
  const target = s['type'] === 'array' ? (s['items'] as JSONSchemaProps) : s;
  const props = (target['properties'] ?? {}) as Record<string, JSONSchemaProps>;
  const req = new Set((target['required'] as string[] | undefined) ?? []);
  const prefix = s['type'] === 'array' ? `${path}[]` : path;
  for (const [k, v] of Object.entries(props)) rows(v, `${prefix}.${k}`, req.has(k), out);
  return out;
}

const cell = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function section(crd: Record<string, unknown>, example: string): string {
  const spec = crd['spec'] as { names: { kind: string; shortNames: string[] }; versions: Array<{ schema: { openAPIV3Schema: JSONSchemaProps } }> };
  const schema = spec.versions[0]!.schema.openAPIV3Schema;
  const props = schema['properties'] as Record<string, JSONSchemaProps>;
  const table = [...rows(props['spec']!, 'spec', true, []).slice(1), ...rows(props['status']!, 'status', false, []).slice(1)]
    .map((r) => `| \`${r.path}\` | ${cell(r.type)} | ${cell(r.rules)} | ${cell(r.description)} |`)
    .join('\n');
  return `## ${spec.names.kind}\n\n${String(schema['description'])} Short names: ${spec.names.shortNames.map((n) => `\`${n}\``).join(', ')}.\n\n\`\`\`yaml\n${example}\`\`\`\n\n| field | type | rules | description |\n|---|---|---|---|\n${table}\n`;
}

const SERVER_EXAMPLE = `apiVersion: hybridcloud.maibornwolff.de/v1alpha1
kind: PostgreSQLServer
metadata: { name: teamfoo, namespace: default }
spec:
  version: "16"
  size: { class: dev, storageGB: 32 }
  backup: { retentionDays: 7 }
  network:
    firewallRules: [{ name: office, startIp: 203.0.113.0, endIp: 203.0.113.255 }]
  maintenance:
    window: { weekday: Wed, starttime: "03:00" }
  credentialsSecret: teamfoo-postgres-credentials
`;
const DATABASE_EXAMPLE = `apiVersion: hybridcloud.maibornwolff.de/v1alpha1
kind: PostgreSQLDatabase
metadata: { name: fooservice, namespace: default }
spec:
  serverRef: { name: teamfoo }
  database: { extensions: [pg_trgm] }
  credentialsSecret: fooservice-postgres-credentials
`;

export function renderApiReference(): string {
  return [
    '# API reference: hybridcloud.maibornwolff.de/v1alpha1\n',
    '<!-- Generated from packages/core/src/api/schema.ts by `pnpm --filter @hybridcloud-postgresql/core run gen:crds`. Do not edit. -->\n',
    'Both resources are namespaced, have a `status` subresource and show in `kubectl get hybridcloud`. The rules are checked by the',
    'apiserver when an object is created or changed (`kubectl explain postgresqlserver.spec` shows the same descriptions).\n',
    section(serverCrd(), SERVER_EXAMPLE),
    section(databaseCrd(), DATABASE_EXAMPLE),
  ].join('\n');
}
