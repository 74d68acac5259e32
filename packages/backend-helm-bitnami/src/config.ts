import { Type, type Static } from '@sinclair/typebox';
import { commonHelmKeys, type ChartDefaults } from '@hybridcloud-postgresql/helm-common';

/** The operator image bakes this chart (Dockerfile); elsewhere the same version comes from Bitnami's OCI registry. */
export const DEFAULT_CHART: ChartDefaults = {
  baked: '/opt/hybridcloud-postgresql/charts/postgresql',
  remote: { chart: 'oci://registry-1.docker.io/bitnamicharts/postgresql', version: '17.1.0' },
};

const ClassSchema = Type.Object(
  {
    cpu: Type.Union([Type.String({ minLength: 1 }), Type.Number({ exclusiveMinimum: 0 })], { description: 'CPU requests/limits of the pod, e.g. "1000m" or 1.' }),
    memory: Type.String({ minLength: 1, description: 'Memory requests/limits of the pod, e.g. "256Mi".' }),
  },
  { additionalProperties: false },
);

/** backends.helmbitnami: the original's keys plus image, chart and helm settings. */
export const BitnamiConfigSchema = Type.Object(
  {
    ...commonHelmKeys(DEFAULT_CHART),
    classes: Type.Record(Type.String(), ClassSchema, { default: {}, description: 'Resource classes users select with spec.size.class.' }),
    admin_username: Type.String({ minLength: 1, maxLength: 63, default: 'postgres', description: 'Admin login. Other than postgres: created as a superuser with the admin password after the chart started.' }),
    image: Type.Object(
      {
        registry: Type.String({ default: 'docker.io', description: 'image.registry of the chart.' }),
        repository: Type.String({ default: 'bitnamilegacy/postgresql', description: 'image.repository; Bitnami moved its versioned Debian images to bitnamilegacy in August 2025. Point it at your mirror.' }),
        tag: Type.Optional(Type.String({ minLength: 1, description: 'Fixed image tag for every server (then spec.version is ignored).' })),
        pull_secrets: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'image.pullSecrets (Secret names in the server namespace).' }),
      },
      { additionalProperties: false, default: {} },
    ),
    version_tags: Type.Record(Type.String(), Type.String({ minLength: 1 }), {
      default: {},
      description: 'spec.version → image tag, e.g. {"16": "16.6.0-debian-12-r2"}. Empty map: the version is used as the tag (Bitnami publishes major tags such as "16"). latest/empty: the chart\'s default tag.',
    }),
    allow_insecure_images: Type.Boolean({ default: true, description: 'global.security.allowInsecureImages: newer charts refuse images from other repositories than bitnami/ unless set.' }),
    default_cpu: Type.String({ default: '1', description: 'CPU when neither class nor spec.size.cpu is given.' }),
    default_memory_mb: Type.Integer({ minimum: 16, default: 256, description: 'Memory (MB) when neither class nor spec.size.memoryMB is given.' }),
    default_storage_gb: Type.Integer({ minimum: 1, default: 10, description: 'Volume size (GB) when spec.size.storageGB is not given.' }),
  },
  { additionalProperties: false },
);

export type BitnamiConfig = Static<typeof BitnamiConfigSchema>;
