/**
 * Config keys shared by azurepostgres and azurepostgresflexible. `backends.azure` is their key-by-key
 * fallback (merged by core). Keys keep the Python operator's snake_case names; keys marked "new"
 * did not exist there.
 */
import { Type, type Static } from '@sinclair/typebox';

const IPV4 = '^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}$';

export const FirewallRuleConfigSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 80, pattern: '^[-\\w.]+$', description: 'Name of the rule, required.' }),
    startIp: Type.String({ pattern: IPV4, description: 'Start IP address, required.' }),
    endIp: Type.String({ pattern: IPV4, description: 'End IP address, required.' }),
  },
  { additionalProperties: false },
);

export const NameOverrideSchema = Type.Object(
  {
    namespace: Type.String({ minLength: 1 }),
    name: Type.String({ minLength: 1 }),
    azure_name: Type.String({ minLength: 3, maxLength: 63 }),
  },
  { additionalProperties: false },
);

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/** Properties both Azure backends accept; each backend adds its own keys to these. */
export const azureCommonProperties = {
  python_objects: Type.Union([Type.Literal('keep'), Type.Literal('apply')], {
    default: 'keep',
    description: 'New: servers the Python operator managed keep what it set where this operator reads the same spec differently (SKU from cpu instead of the default class or memoryMB, the maintenance weekday it shifted by a day, pg_cron/pg_stat_statements in azure.extensions) while their spec is unchanged (`keep`), with a Warning AdoptedValueKept; `apply` uses this operator\'s reading at once. See docs/migration.md.',
  }),
  subscription_id: Type.String({ pattern: UUID, description: 'Azure subscription id (a UUID) to provision servers in, required. Each backend may use its own.' }),
  location: Type.String({ minLength: 1, description: 'Azure region, required (e.g. westeurope).' }),
  resource_group: Type.String({ minLength: 1, maxLength: 90, description: 'Resource group to provision servers in, required.' }),
  name_pattern: Type.String({ minLength: 1, default: '{namespace}-{name}', description: 'Azure server name pattern with {namespace} and {name}.' }),
  name_overrides: Type.Array(NameOverrideSchema, { default: [], description: 'Explicit Azure names for single objects (undocumented in the Python operator, kept).' }),
  virtual_network: Type.Optional(Type.String({ minLength: 1, description: 'Virtual network for VNet integration (flexible) or the private endpoint (single server).' })),
  subnet: Type.Optional(Type.String({ minLength: 1, description: 'Subnet in virtual_network.' })),
  cpu_limit: Type.Optional(Type.Integer({ minimum: 1, description: 'Upper limit of spec.size.cpu.' })),
  storage_limit_gb: Type.Optional(Type.Integer({ minimum: 1, description: 'Upper limit of spec.size.storageGB.' })),
  server_delete_fake: Type.Boolean({ default: false, description: 'On delete only tag the server (marked-for-deletion), keep it.' }),
  database_delete_fake: Type.Boolean({ default: false, description: 'On delete keep the database (and its role).' }),
  lock_from_deletion: Type.Boolean({ default: false, description: 'Put a CanNotDelete management lock on the server (needs Owner or User Access Administrator).' }),
  admin_username: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z][A-Za-z0-9_]*$', default: 'postgres', description: 'Administrator login.' }),
  tags: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Extra tags; {namespace} and {name} are replaced.' }),
  resource_manager_endpoint: Type.Optional(Type.String({ minLength: 1, description: 'New: ARM endpoint (sovereign clouds, tests). Default: env AZURE_RESOURCE_MANAGER_ENDPOINT, else https://management.azure.com.' })),
  ca_file: Type.Optional(Type.String({ minLength: 1, description: 'New: PEM file with extra CA certificates to trust for ARM (env AZURE_CA_FILE).' })),
  poll_interval_seconds: Type.Integer({ minimum: 1, maximum: 3600, default: 15, description: 'New: how often a server Azure is still working on is looked at again.' }),
  max_retries: Type.Integer({ minimum: 0, maximum: 10, default: 3, description: 'New: SDK retries per ARM request (5xx, 429 with Retry-After).' }),
};

/** `network`: each backend adds its own keys (single server: create_private_endpoint, vnets). */
export const azureNetworkProperties = {
  public_access: Type.Boolean({ default: true, description: 'Reachable from outside the virtual network.' }),
  allow_azure_services: Type.Boolean({ default: true, description: 'Add the AllowAllWindowsAzureIps firewall rule (0.0.0.0).' }),
};

/** `parameters`: defaults for values the user does not give; each backend may add keys. */
export const azureParametersProperties = {
  geo_redundant_backup: Type.Boolean({ default: false, description: 'Default for spec.backup.geoRedundant.' }),
  backup_retention_days: Type.Integer({ minimum: 7, maximum: 35, default: 7, description: 'Default for spec.backup.retentionDays.' }),
  network: Type.Object(
    { firewall_rules: Type.Array(FirewallRuleConfigSchema, { default: [], description: 'Firewall rules added to every server.' }) },
    { additionalProperties: false, default: {} },
  ),
};

const _common = Type.Object({
  ...azureCommonProperties,
  network: Type.Object(azureNetworkProperties),
  parameters: Type.Object(azureParametersProperties),
});
export type AzureCommonConfig = Static<typeof _common>;
