/** Config section `backends.awsrds` (keys missing here fall back to `backends.aws`, key by key). */
import { Type, type Static } from '@sinclair/typebox';
import { awsCommonProperties } from '@hybridcloud-postgresql/aws-common';

export const RdsClassSchema = Type.Object(
  {
    instance_type: Type.String({ minLength: 1, description: 'DB instance class, e.g. db.m5.large, required.' }),
    // Optional rather than defaulted: TypeBox does not apply defaults inside Record values.
    storage_type: Type.Optional(Type.Union([Type.Literal('gp2'), Type.Literal('gp3'), Type.Literal('io1'), Type.Literal('io2'), Type.Literal('standard')], { description: 'Storage type, default gp2.' })),
    iops: Type.Optional(Type.Integer({ minimum: 0, description: 'Provisioned IOPS for gp3/io1/io2; 0 or unset = not set.' })),
    storage_throughput: Type.Optional(Type.Integer({ minimum: 0, description: 'New: gp3 storage throughput in MiB/s; 0 or unset = not set.' })),
    cpu: Type.Optional(Type.Integer({ minimum: 1, description: 'New: vCPUs of this class for sizing by cpu/memoryMB (default: from the built-in instance table).' })),
    memory_mb: Type.Optional(Type.Integer({ minimum: 1, description: 'New: memory of this class in MB for sizing by cpu/memoryMB (default: from the built-in instance table).' })),
  },
  { additionalProperties: false },
);

export const RdsConfigSchema = Type.Object(
  {
    ...awsCommonProperties,
    availability_zone: Type.Optional(Type.String({ minLength: 1, description: 'Availability zone for single-AZ instances; unset = AWS chooses.' })),
    default_class: Type.Optional(Type.String({ minLength: 1, description: 'Class used when none is requested or the requested one does not exist. Unset: a built-in class operator_default (db.m5.large, gp2).' })),
    classes: Type.Record(Type.String({ minLength: 1 }), RdsClassSchema, { default: {}, description: 'Size classes users can select with spec.size.class.' }),
  },
  { additionalProperties: false },
);

export type RdsConfig = Static<typeof RdsConfigSchema>;
export type RdsClass = Static<typeof RdsClassSchema>;

/** The Python operator's implicit default when default_class was not configured. */
export const BUILTIN_DEFAULT_CLASS = 'operator_default';
export const BUILTIN_DEFAULT: RdsClass = { instance_type: 'db.m5.large', storage_type: 'gp2', iops: 0, storage_throughput: 0 };

/** Classes with the implicit default added; throws when default_class names a missing class. */
export function effectiveClasses(cfg: RdsConfig): { classes: Record<string, RdsClass>; defaultClass: string } {
  if (cfg.default_class !== undefined) {
    if (!(cfg.default_class in cfg.classes)) {
      throw new Error(`backends.awsrds.default_class '${cfg.default_class}' is not one of backends.awsrds.classes (${Object.keys(cfg.classes).join(', ') || 'none configured'})`);
    }
    return { classes: cfg.classes, defaultClass: cfg.default_class };
  }
  return { classes: { [BUILTIN_DEFAULT_CLASS]: BUILTIN_DEFAULT, ...cfg.classes }, defaultClass: BUILTIN_DEFAULT_CLASS };
}
