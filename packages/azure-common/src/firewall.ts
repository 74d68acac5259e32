/**
 * Firewall rules: config rules + spec rules + AllowAllWindowsAzureIps. Only differences are sent
 * to Azure: rules that are missing or have other addresses are written, rules nobody wants are deleted.
 */
export interface FirewallRuleWanted {
  name: string;
  startIpAddress: string;
  endIpAddress: string;
}

export const ALLOW_AZURE_SERVICES_RULE = 'AllowAllWindowsAzureIps';

export function desiredFirewallRules(
  configRules: ReadonlyArray<{ name: string; startIp: string; endIp: string }>,
  specRules: ReadonlyArray<{ name: string; startIp: string; endIp: string }> | undefined,
  allowAzureServices: boolean,
): FirewallRuleWanted[] {
  const byName = new Map<string, FirewallRuleWanted>();
  // Spec rules win over config rules of the same name (the user asked for exactly that range).
  for (const r of [...configRules, ...(specRules ?? [])]) byName.set(r.name.toLowerCase(), { name: r.name, startIpAddress: r.startIp, endIpAddress: r.endIp });
  if (allowAzureServices) byName.set(ALLOW_AZURE_SERVICES_RULE.toLowerCase(), { name: ALLOW_AZURE_SERVICES_RULE, startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' });
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export interface FirewallDiff {
  upsert: FirewallRuleWanted[];
  remove: string[];
}

/** ARM rule names are case-insensitive. */
export function diffFirewallRules(wanted: readonly FirewallRuleWanted[], live: ReadonlyArray<{ name?: string; startIpAddress?: string; endIpAddress?: string }>): FirewallDiff {
  const liveByName = new Map(live.filter((r) => r.name).map((r) => [r.name!.toLowerCase(), r]));
  const wantedNames = new Set(wanted.map((w) => w.name.toLowerCase()));
  const upsert = wanted.filter((w) => {
    const l = liveByName.get(w.name.toLowerCase());
    return !l || l.startIpAddress !== w.startIpAddress || l.endIpAddress !== w.endIpAddress;
  });
  const remove = live.filter((r) => r.name && !wantedNames.has(r.name.toLowerCase())).map((r) => r.name!);
  return { upsert, remove };
}

export const isEmptyDiff = (d: FirewallDiff) => d.upsert.length === 0 && d.remove.length === 0;
