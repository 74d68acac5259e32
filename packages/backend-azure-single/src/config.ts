/** Config of `backends.azurepostgres` (falls back to `backends.azure` key by key). */
import { Type, type Static } from '@sinclair/typebox';
import { azureCommonProperties, azureNetworkProperties, azureParametersProperties } from '@hybridcloud-postgresql/azure-common';

export const SingleClassSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'SKU name in Azure, e.g. GP_Gen5_2, required.' }),
    tier: Type.Union([Type.Literal('Basic'), Type.Literal('GeneralPurpose'), Type.Literal('MemoryOptimized')], { description: 'SKU tier, required.' }),
    family: Type.String({ minLength: 1, description: 'SKU family, e.g. Gen5, required.' }),
    capacity: Type.Integer({ minimum: 1, description: 'vCores, required.' }),
  },
  { additionalProperties: false },
);

export const SingleConfigSchema = Type.Object(
  {
    ...azureCommonProperties,
    network: Type.Object(
      {
        ...azureNetworkProperties,
        create_private_endpoint: Type.Boolean({ default: false, description: 'Create a private endpoint (in virtual_network/subnet) and its DNS A record.' }),
        vnets: Type.Array(Type.Object({ vnet: Type.String({ minLength: 1 }), subnet: Type.String({ minLength: 1 }) }, { additionalProperties: false }), { default: [], description: 'Virtual network subnets allowed to connect (VNet rules).' }),
      },
      { additionalProperties: false, default: {} },
    ),
    parameters: Type.Object(
      {
        ...azureParametersProperties,
        infrastructure_encryption: Type.Union([Type.Literal('Enabled'), Type.Literal('Disabled')], { default: 'Disabled', description: 'Infrastructure (double) encryption, set at creation.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    classes: Type.Record(Type.String(), SingleClassSchema, { default: {}, description: 'Size classes users can pick with spec.size.class.' }),
    default_class: Type.Optional(Type.String({ minLength: 1, description: 'Class used when spec.size.class names no class.' })),
    private_dns_zone: Type.String({ minLength: 1, default: 'postgres.database.azure.com', description: 'New: private DNS zone (in resource_group) for the private endpoint A record; the Python operator hard-coded this name.' }),
  },
  { additionalProperties: false },
);

export type SingleConfig = Static<typeof SingleConfigSchema>;
