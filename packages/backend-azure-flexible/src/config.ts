/** Config of `backends.azurepostgresflexible` (falls back to `backends.azure` key by key). */
import { Type, type Static } from '@sinclair/typebox';
import { azureCommonProperties, azureNetworkProperties, azureParametersProperties } from '@hybridcloud-postgresql/azure-common';

export const FlexibleClassSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'SKU name in Azure, e.g. Standard_D2ds_v4, required.' }),
    tier: Type.Union([Type.Literal('Burstable'), Type.Literal('GeneralPurpose'), Type.Literal('MemoryOptimized')], { description: 'SKU tier in Azure, required.' }),
  },
  { additionalProperties: false },
);

export const DnsZoneSchema = Type.Union([
  Type.String({ minLength: 1, description: 'Name of the private DNS zone in the server resource group.' }),
  Type.Object(
    {
      name: Type.String({ minLength: 1, description: 'Name of the private DNS zone (ends with .postgres.database.azure.com).' }),
      resource_group: Type.Optional(Type.String({ minLength: 1, description: 'Resource group of the zone; default: the server resource group.' })),
    },
    { additionalProperties: false },
  ),
]);

export const FlexibleConfigSchema = Type.Object(
  {
    ...azureCommonProperties,
    network: Type.Object(azureNetworkProperties, { additionalProperties: false, default: {} }),
    parameters: Type.Object(azureParametersProperties, { additionalProperties: false, default: {} }),
    classes: Type.Record(Type.String(), FlexibleClassSchema, { default: {}, description: 'Size classes users can pick with spec.size.class.' }),
    default_class: Type.Optional(Type.String({ minLength: 1, description: 'Class used when spec.size.class names no class.' })),
    availability_zone: Type.Optional(Type.String({ minLength: 1, description: 'Availability zone of the server (set at creation). Default: none, Azure picks one the SKU offers; a zone the region does not offer for the SKU is left out with a warning.' })),
    standby_availability_zone: Type.String({ default: '2', description: 'Zone of the standby when spec.highavailability.enabled.' }),
    dns_zone: Type.Optional(DnsZoneSchema),
    default_version: Type.Optional(Type.String({ pattern: '^[0-9]+$', description: 'New: version used when spec.version is not offered; default: the newest the region offers.' })),
    reset_unlisted_server_parameters: Type.Boolean({ default: false, description: 'New: reset every modifiable server parameter not named in spec.serverParameters to its default (the Python operator always did).' }),
  },
  { additionalProperties: false },
);

export type FlexibleConfig = Static<typeof FlexibleConfigSchema>;

/** dns_zone in both forms → {name, resourceGroup}. */
export function dnsZone(cfg: FlexibleConfig): { name: string; resourceGroup: string } | undefined {
  const z = cfg.dns_zone;
  if (!z) return undefined;
  if (typeof z === 'string') return { name: z, resourceGroup: cfg.resource_group };
  return { name: z.name, resourceGroup: z.resource_group ?? cfg.resource_group };
}
