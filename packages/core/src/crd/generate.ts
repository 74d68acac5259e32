/**
 * Builds the two CustomResourceDefinitions from the TypeBox schemas in api/schema.ts — the one
 * source of truth for the TypeScript types and the CRDs. The chart's templates are this output
 * (`pnpm --filter @hybridcloud-postgresql/core run gen:crds`); a unit test fails when they are stale.
 */
import { stringify } from 'yaml';
import { DatabaseSpec, DATABASE_KIND, GROUP, ServerSpec, SERVER_KIND, Status, VERSION } from '../api/schema.js';
import { toStructural, type JSONSchemaProps } from './structural.js';

const READY = '.status.conditions[?(@.type=="Ready")]';
export const CRD_CATEGORIES = ['hybridcloud'];
export const CRD_FILES = { server: 'postgresqlserver.yaml', database: 'postgresqldatabase.yaml' } as const;

interface KindNames {
  kind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
}

function crd(names: KindNames, description: string, spec: unknown, columns: JSONSchemaProps[]): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${names.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'hybrid-cloud-postgresql-operator', 'app.kubernetes.io/component': 'crd' },
      // Uninstalling the chart must not delete every server and database with the CRD.
      annotations: { 'helm.sh/resource-policy': 'keep' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: names.kind, listKind: `${names.kind}List`, plural: names.plural, singular: names.singular, shortNames: [...names.shortNames], categories: CRD_CATEGORIES },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
                kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
                metadata: { type: 'object' },
                spec: toStructural(spec, 'spec'),
                status: toStructural(Status, 'status'),
              },
            },
          },
        },
      ],
    },
  };
}

const ready = { name: 'Ready', type: 'string', jsonPath: `${READY}.status`, description: 'Whether the resource is ready to use.' };
const reason = { name: 'Reason', type: 'string', jsonPath: `${READY}.reason`, description: 'Why it is (not) ready.' };
const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export function serverCrd(): Record<string, unknown> {
  return crd(
    SERVER_KIND,
    'A PostgreSQL server provisioned by the Hybrid Cloud PostgreSQL operator through one of its backends (Azure, AWS, in-cluster Helm charts).',
    ServerSpec,
    [ready, { name: 'Backend', type: 'string', jsonPath: '.status.backend', description: 'Backend that manages the server.' }, reason, age],
  );
}

export function databaseCrd(): Record<string, unknown> {
  return crd(
    DATABASE_KIND,
    'A database with its own login role on a PostgreSQLServer in the same namespace; the credentials go to spec.credentialsSecret.',
    DatabaseSpec,
    [{ name: 'Server', type: 'string', jsonPath: '.spec.serverRef.name', description: 'The PostgreSQLServer it lives on.' }, ready, { ...reason, priority: 1 }, age],
  );
}

const HEADER = '# Generated from packages/core/src/api/schema.ts by `pnpm --filter @hybridcloud-postgresql/core run gen:crds`. Do not edit.\n';

export function renderCrd(obj: Record<string, unknown>): string {
  return HEADER + stringify(obj, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Both CRDs as one multi-document YAML stream (for `kubectl apply -f -`). */
export function renderAllCrds(): string {
  return [serverCrd(), databaseCrd()].map(renderCrd).join('---\n');
}
