/**
 * Config keys shared by awsrds and awsaurora (`backends.aws` is their key-by-key fallback).
 * Keys keep the Python operator's snake_case names; keys marked "new" did not exist there.
 */
import { Type, type Static } from '@sinclair/typebox';

export const NameOverrideSchema = Type.Object(
  {
    namespace: Type.String({ minLength: 1 }),
    name: Type.String({ minLength: 1 }),
    aws_identifier: Type.String({ minLength: 1, maxLength: 63 }),
  },
  { additionalProperties: false },
);

export const awsCommonProperties = {
  region: Type.String({ minLength: 1, description: 'AWS region to use, required (awsrds/awsaurora value wins over aws).' }),
  endpoint: Type.Optional(Type.String({ minLength: 1, description: 'New: RDS endpoint URL (emulators). Default: AWS_ENDPOINT_URL_RDS / AWS_ENDPOINT_URL, else the public AWS endpoint.' })),
  vpc_security_group_ids: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'VPC security group ids for the instances.' }),
  subnet_group: Type.String({ minLength: 1, description: 'Name of the DB subnet group to place instances in, required.' }),
  deletion_protection: Type.Boolean({ default: false, description: 'Enable RDS deletion protection; the operator then cannot delete the server.' }),
  network: Type.Object(
    { public_access: Type.Boolean({ default: false, description: 'Publicly accessible from outside the VPC (security groups still apply).' }) },
    { additionalProperties: false, default: {} },
  ),
  admin_username: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z][A-Za-z0-9_]*$', default: 'postgres', description: 'Master username.' }),
  name_pattern: Type.String({ minLength: 1, default: '{namespace}-{name}', description: 'AWS identifier pattern with {namespace} and {name}.' }),
  name_overrides: Type.Array(NameOverrideSchema, { default: [], description: 'Explicit AWS identifiers for single objects (undocumented in the Python operator, kept).' }),
  tags: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Extra tags; {namespace} and {name} are replaced.' }),
  cpu_limit: Type.Optional(Type.Integer({ minimum: 1, description: 'New for AWS: upper limit of spec.size.cpu.' })),
  storage_limit_gb: Type.Optional(Type.Integer({ minimum: 1, description: 'New for AWS: upper limit of spec.size.storageGB.' })),
  python_objects: Type.Union([Type.Literal('keep'), Type.Literal('apply')], {
    default: 'keep',
    description: 'New: servers the Python operator managed keep the instance class it chose (it ignored cpu/memoryMB) while their spec is unchanged (`keep`), or are sized by this operator\'s rules at once (`apply`). See docs/migration.md.',
  }),
  final_snapshot: Type.Boolean({ default: true, description: 'New: take a final snapshot `<identifier>-final-<uid8>` when deleting a server.' }),
  requests_per_second: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 4, description: 'New: budget of RDS API requests per second, shared by awsrds and awsaurora (RDS throttles at about 12/s per account).' }),
  max_attempts: Type.Integer({ minimum: 1, maximum: 10, default: 4, description: 'New: attempts per RDS API call (SDK standard retry mode with exponential backoff).' }),
  poll_interval_seconds: Type.Integer({ minimum: 1, maximum: 3600, default: 30, description: 'New: how often a server that AWS is still working on is looked at again.' }),
};

export const AwsCommonSchema = Type.Object(awsCommonProperties);
export type AwsCommonConfig = Static<typeof AwsCommonSchema>;
