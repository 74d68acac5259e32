/** Config section `backends.awsaurora` (keys missing here fall back to `backends.aws`, key by key). */
import { Type, type Static } from '@sinclair/typebox';
import { awsCommonProperties } from '@hybridcloud-postgresql/aws-common';

export const ScalingSchema = Type.Object(
  {
    min_capacity: Type.Number({ minimum: 0, maximum: 256, description: 'Minimum Aurora capacity units (ACU), e.g. 0.5, required.' }),
    max_capacity: Type.Number({ minimum: 1, maximum: 256, description: 'Maximum Aurora capacity units (ACU), required.' }),
  },
  { additionalProperties: false },
);

export const AuroraClassSchema = Type.Object(
  {
    instance_type: Type.String({ minLength: 1, description: 'Instance class of the writer, db.serverless for Serverless v2, required.' }),
    // Optional rather than defaulted: TypeBox does not apply defaults inside Record values.
    scaling_configuration: Type.Optional(ScalingSchema),
    storage_type: Type.Optional(Type.Union([Type.Literal('aurora'), Type.Literal('aurora-iopt1')], { description: 'Cluster storage type, default aurora.' })),
    iops: Type.Optional(Type.Integer({ minimum: 0, description: 'Provisioned IOPS; 0 or unset = not sent.' })),
    cpu: Type.Optional(Type.Integer({ minimum: 1, description: 'New: vCPUs of this class for sizing by cpu/memoryMB (default: instance table, or max_capacity/4 for serverless).' })),
    memory_mb: Type.Optional(Type.Integer({ minimum: 1, description: 'New: memory in MB for sizing by cpu/memoryMB (default: instance table, or max_capacity × 2048 for serverless).' })),
  },
  { additionalProperties: false },
);

export const AuroraConfigSchema = Type.Object(
  {
    ...awsCommonProperties,
    availability_zones: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Availability zones for the cluster storage; empty = AWS chooses.' }),
    default_class: Type.Optional(Type.String({ minLength: 1, description: 'Class used when none is requested or the requested one does not exist. Unset: a built-in class operator_default (db.serverless, 0.5–1 ACU).' })),
    classes: Type.Record(Type.String({ minLength: 1 }), AuroraClassSchema, { default: {}, description: 'Size classes users can select with spec.size.class.' }),
  },
  { additionalProperties: false },
);

export type AuroraConfig = Static<typeof AuroraConfigSchema>;
export type AuroraClass = Static<typeof AuroraClassSchema>;

export const BUILTIN_DEFAULT_CLASS = 'operator_default';
export const BUILTIN_DEFAULT: AuroraClass = { instance_type: 'db.serverless', scaling_configuration: { min_capacity: 0.5, max_capacity: 1 } };

export function effectiveClasses(cfg: AuroraConfig): { classes: Record<string, AuroraClass>; defaultClass: string } {
  for (const [name, cls] of Object.entries(cfg.classes)) {
    const s = cls.scaling_configuration;
    if (s && s.min_capacity > s.max_capacity) throw new Error(`backends.awsaurora.classes.${name}.scaling_configuration: min_capacity ${s.min_capacity} is larger than max_capacity ${s.max_capacity}`);
  }
  if (cfg.default_class !== undefined) {
    if (!(cfg.default_class in cfg.classes)) {
      throw new Error(`backends.awsaurora.default_class '${cfg.default_class}' is not one of backends.awsaurora.classes (${Object.keys(cfg.classes).join(', ') || 'none configured'})`);
    }
    return { classes: cfg.classes, defaultClass: cfg.default_class };
  }
  return { classes: { [BUILTIN_DEFAULT_CLASS]: BUILTIN_DEFAULT, ...cfg.classes }, defaultClass: BUILTIN_DEFAULT_CLASS };
}
