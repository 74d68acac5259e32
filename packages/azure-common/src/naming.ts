/** Azure server names from name_pattern / name_overrides, checked against ARM's naming rules. */
import type { ServerRequest } from '@hybridcloud-postgresql/core';

export interface NamingConfig {
  name_pattern: string;
  name_overrides: ReadonlyArray<{ namespace: string; name: string; azure_name: string }>;
}

export function serverName(cfg: NamingConfig, s: Pick<ServerRequest, 'namespace' | 'name'>): string {
  const override = cfg.name_overrides.find((o) => o.namespace === s.namespace && o.name === s.name);
  if (override) return override.azure_name;
  return cfg.name_pattern.replaceAll('{namespace}', s.namespace).replaceAll('{name}', s.name);
}

/** Flexible and single servers: 3-63 chars, lowercase letters, digits and hyphens, no hyphen at either end. */
const SERVER_NAME = /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/;

export function serverNameProblem(name: string): string | undefined {
  if (SERVER_NAME.test(name)) return undefined;
  return `the Azure server name '${name}' (from name_pattern) must be 3-63 characters of lowercase letters, digits and hyphens, not starting or ending with a hyphen`;
}

export const POSTGRES_PROVIDER = 'Microsoft.DBforPostgreSQL';

export function resourceGroupId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}

export function subnetId(subscriptionId: string, resourceGroup: string, vnet: string, subnet: string): string {
  return `${resourceGroupId(subscriptionId, resourceGroup)}/providers/Microsoft.Network/virtualNetworks/${vnet}/subnets/${subnet}`;
}

export function privateDnsZoneId(subscriptionId: string, resourceGroup: string, zone: string): string {
  return `${resourceGroupId(subscriptionId, resourceGroup)}/providers/Microsoft.Network/privateDnsZones/${zone}`;
}
