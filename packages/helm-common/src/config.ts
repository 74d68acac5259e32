/** Config keys every in-cluster backend shares (snake_case, as the original's config files). */
import { existsSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import type { ChartReference } from './releases.js';

export const ChartSchema = (defaults: ChartDefaults) =>
  Type.Object(
    {
      reference: Type.Optional(
        Type.String({
          minLength: 1,
          description: `Chart to install: an OCI reference (oci://…), a chart name with \`repository\`, or a local chart directory / .tgz. Default: the chart baked into the operator image (${defaults.baked}) when present, else ${defaults.remote.chart}${defaults.remote.repository ? ` from ${defaults.remote.repository}` : ''} version ${defaults.remote.version}.`,
        }),
      ),
      repository: Type.Optional(Type.String({ minLength: 1, description: 'Classic chart repository URL (helm --repo).' })),
      version: Type.Optional(Type.String({ minLength: 1, description: 'Chart version (helm --version); ignored for local charts.' })),
    },
    { additionalProperties: false, default: {} },
  );

/** Where the default chart comes from: the copy baked into the operator image, else the registry. */
export interface ChartDefaults {
  baked: string;
  remote: { chart: string; repository?: string; version: string };
}

export const commonHelmKeys = (defaults: ChartDefaults) => ({
  default_class: Type.Optional(Type.String({ description: 'Class used when the spec names none or an unknown one.' })),
  storage_class: Type.String({ default: '', description: 'Storage class of the volumes; empty = the cluster default.' }),
  pvc_cleanup: Type.Boolean({ default: false, description: 'Delete the release\'s PersistentVolumeClaims (and with them the data) when the server is deleted. Without it they are kept.' }),
  helm_binary: Type.Optional(Type.String({ minLength: 1, description: 'helm binary (path or name on PATH). Default: env HELM_BINARY, else `helm`.' })),
  helm_timeout_seconds: Type.Integer({ minimum: 10, maximum: 3600, default: 300, description: 'Upper bound of one helm invocation (helm never waits for readiness).' }),
  chart: ChartSchema(defaults),
  python_releases: Type.Union([Type.Literal('keep'), Type.Literal('upgrade')], {
    default: 'keep',
    description:
      'Releases the Python operator installed: `keep` leaves them exactly as they are (no helm call) while the resource\'s spec asks for nothing they do not already have, and reports where this operator would render them differently; `upgrade` re-renders them with this operator\'s values at once. Either way the running major version is kept (docs/migration.md).',
  }),
});

export interface CommonHelmConfig {
  default_class?: string;
  storage_class: string;
  pvc_cleanup: boolean;
  helm_binary?: string;
  helm_timeout_seconds: number;
  chart: { reference?: string; repository?: string; version?: string };
  python_releases: 'keep' | 'upgrade';
}

/** The configured chart, or the default: the image's baked copy when it exists, else the pinned remote chart. */
export function chartReference(c: CommonHelmConfig['chart'], defaults: ChartDefaults, exists: (path: string) => boolean = existsSync): ChartReference {
  if (!c.reference) {
    if (exists(defaults.baked)) return { chart: defaults.baked };
    const r = defaults.remote;
    return { chart: r.chart, ...(r.repository ? { repository: r.repository } : {}), version: c.version ?? r.version };
  }
  return { chart: c.reference, ...(c.repository ? { repository: c.repository } : {}), ...(c.version ? { version: c.version } : {}) };
}

export function helmBinary(c: { helm_binary?: string }): string {
  return c.helm_binary ?? process.env['HELM_BINARY'] ?? 'helm';
}

/**
 * Picks the class for a spec: the named one, else the default class with a warning (the original
 * fell back silently); undefined when the spec names none and there is no default.
 */
export function pickClass<C>(
  requested: string | undefined,
  classes: Record<string, C> | undefined,
  defaultClass: string | undefined,
): { name?: string; cls?: C; warning?: { reason: string; message: string } } {
  const all = classes ?? {};
  if (requested && all[requested]) return { name: requested, cls: all[requested] };
  const fallback = defaultClass && all[defaultClass] ? { name: defaultClass, cls: all[defaultClass] } : {};
  if (requested) {
    return {
      ...fallback,
      warning: {
        reason: 'UnknownClass',
        message: `Class '${requested}' is not configured (known: ${Object.keys(all).join(', ') || 'none'}); ${fallback.name ? `using the default class '${fallback.name}'` : 'using cpu/memoryMB'}.`,
      },
    };
  }
  return fallback;
}
