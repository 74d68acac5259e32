import { Type, type Static } from '@sinclair/typebox';
import { commonHelmKeys, type ChartDefaults } from '@hybridcloud-postgresql/helm-common';

/** The operator image bakes this chart (Dockerfile); elsewhere the same version comes from charts.yugabyte.com. */
export const DEFAULT_CHART: ChartDefaults = {
  baked: '/opt/hybridcloud-postgresql/charts/yugabyte',
  remote: { chart: 'yugabyte', repository: 'https://charts.yugabyte.com', version: '2026.1.0' },
};

const CpuMemory = Type.Object(
  {
    cpu: Type.Union([Type.String({ minLength: 1 }), Type.Number({ exclusiveMinimum: 0 })], { description: 'CPU requests/limits, e.g. "1000m" or 2.' }),
    memory: Type.String({ minLength: 1, description: 'Memory requests/limits in whole Gi, e.g. "2Gi" (the chart derives memory_limit_hard_bytes from the number).' }),
  },
  { additionalProperties: false },
);

const ClassSchema = Type.Object({ master: CpuMemory, tserver: CpuMemory }, { additionalProperties: false });

/** backends.helmyugabyte: the original's keys plus image, chart and helm settings. */
export const YugabyteConfigSchema = Type.Object(
  {
    ...commonHelmKeys(DEFAULT_CHART),
    classes: Type.Record(Type.String(), ClassSchema, { default: {}, description: 'Resource classes with master and tserver cpu/memory.' }),
    replicas_master: Type.Integer({ minimum: 1, default: 1, description: 'Masters (3 for a highly available cluster; the replication factor follows it).' }),
    replicas_tserver: Type.Integer({ minimum: 1, default: 1, description: 'Tablet servers (3 for a highly available cluster).' }),
    partitions_master: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'StatefulSet rollingUpdate.partition of the masters: pods with a lower ordinal are NOT updated on changes (not data sharding). The original defaulted to 1, which kept pod 0 of a one-replica cluster from ever being updated.',
    }),
    partitions_tserver: Type.Integer({ minimum: 0, default: 0, description: 'StatefulSet rollingUpdate.partition of the tablet servers (see partitions_master).' }),
    image: Type.Object(
      {
        repository: Type.Optional(Type.String({ minLength: 1, description: 'Image.repository (default of the chart: yugabytedb/yugabyte).' })),
        tag: Type.Optional(Type.String({ minLength: 1, description: 'Fixed Image.tag for every server (then spec.version is ignored).' })),
      },
      { additionalProperties: false, default: {} },
    ),
    version_tags: Type.Record(Type.String(), Type.String({ minLength: 1 }), { default: {}, description: 'spec.version → YugabyteDB image tag. Versions not listed use the chart default (with a warning).' }),
    default_cpu: Type.String({ default: '1', description: 'CPU of masters and tservers when neither class nor spec.size.cpu is given.' }),
    default_memory_gb: Type.Integer({ minimum: 1, default: 2, description: 'Memory (Gi) when neither class nor spec.size.memoryMB is given.' }),
    default_storage_gb: Type.Integer({ minimum: 1, default: 10, description: 'Volume size (GB) when spec.size.storageGB is not given.' }),
    ysql_startup_grace_seconds: Type.Integer({
      minimum: 0,
      default: 300,
      description: 'How long YSQL refusing the admin login (28P01) counts as the tablet server still starting (it answers so before its role catalog is served) before it is reported as AdminPasswordMismatch.',
    }),
  },
  { additionalProperties: false },
);

export type YugabyteConfig = Static<typeof YugabyteConfigSchema>;
