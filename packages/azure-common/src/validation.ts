/**
 * What Microsoft.DBforPostgreSQL 2025-08-01 declares for names and values (openapi.json: path
 * parameters firewallRuleName and databaseName, DatabaseProperties.charset/collation,
 * ConfigurationProperties.dataType/allowedValues). Checked before any call, so a bad value is
 * reported on the field that holds it instead of as an ARM 400 in the middle of a change.
 */

/** FirewallRules paths: firewallRuleName. */
export const FIREWALL_RULE_NAME = /^[a-zA-Z0-9][-_a-zA-Z0-9]{0,79}(?<!-)$/;
/** Databases paths: databaseName. */
export const DATABASE_NAME = /^[a-zA-Z_][\w-]{0,62}$/;
/** DatabaseProperties.charset. */
export const CHARSET = /^[a-zA-Z]+\w*$/;
/** DatabaseProperties.collation. */
export const COLLATION = /^[a-zA-Z-]+([. ]|\w)*$/;

export function firewallRuleNameProblem(name: string): string | undefined {
  if (FIREWALL_RULE_NAME.test(name)) return undefined;
  return `firewall rule name '${name}' is not accepted by Azure: 1-80 letters, digits, '-' and '_', starting with a letter or digit and not ending with '-' (no dots or spaces)`;
}

export function databaseNameProblem(name: string): string | undefined {
  if (DATABASE_NAME.test(name)) return undefined;
  return `database name '${name}' is not accepted by Azure: 1-63 letters, digits, '_' and '-', starting with a letter or '_'`;
}

/** 'UTF-8' → 'UTF8': PostgreSQL accepts both, Azure's API only the second. */
export function charsetProblem(charset: string): string | undefined {
  if (CHARSET.test(charset)) return undefined;
  const fixed = charset.replace(/[^\w]/g, '');
  return `charset '${charset}' is not accepted by Azure (letters, digits and '_' only)${CHARSET.test(fixed) && fixed !== '' ? `; write '${fixed.toUpperCase()}'` : ''}`;
}

/** 'en_US.UTF-8' → 'en_US.utf8'. */
export function collationProblem(collation: string): string | undefined {
  if (COLLATION.test(collation)) return undefined;
  const fixed = collation.replace(/\.utf-8$/i, '.utf8');
  return `collation '${collation}' is not accepted by Azure (no '-' after the first '.' or space)${fixed !== collation && COLLATION.test(fixed) ? `; write '${fixed}'` : ''}`;
}

const ON = new Set(['on', 'true', 'yes', '1']);
const OFF = new Set(['off', 'false', 'no', '0']);

export interface ParameterInfo {
  name?: string;
  dataType?: string;
  allowedValues?: string;
}

/**
 * The value to send for a server parameter, in Azure's spelling (Boolean 'true' → 'on'), or the
 * reason it cannot be sent (outside the range or list in allowedValues).
 */
export function parameterValue(p: ParameterInfo, raw: string): { value: string } | { problem: string } {
  const type = (p.dataType ?? 'String').toLowerCase();
  const allowed = p.allowedValues?.trim();
  const value = raw.trim();
  if (type === 'boolean') {
    const v = value.toLowerCase();
    if (ON.has(v)) return { value: 'on' };
    if (OFF.has(v)) return { value: 'off' };
    return { problem: `'${raw}' is not a boolean; Azure takes on or off` };
  }
  if (type === 'integer' || type === 'numeric') {
    const n = Number(value);
    if (value === '' || !Number.isFinite(n) || (type === 'integer' && !Number.isInteger(n))) return { problem: `'${raw}' is not ${type === 'integer' ? 'an integer' : 'a number'} (Azure takes plain numbers, no units${allowed ? `; allowed: ${allowed}` : ''})` };
    const m = allowed ? /^(-?[\d.]+(?:e[+-]?\d+)?)-(-?[\d.]+(?:e[+-]?\d+)?)$/i.exec(allowed) : null;
    if (m && (n < Number(m[1]) || n > Number(m[2]))) return { problem: `${value} is outside the range Azure allows (${allowed})` };
    return { value };
  }
  if (!allowed) return { value: raw };
  const list = allowed.split(',').map((v) => v.trim());
  const lower = new Map(list.map((v) => [v.toLowerCase(), v]));
  if (type === 'enumeration') {
    const hit = lower.get(value.toLowerCase());
    return hit !== undefined ? { value: hit } : { problem: `'${raw}' is not one of ${allowed}` };
  }
  if (type === 'set') {
    const items = value.split(',').map((v) => v.trim()).filter(Boolean);
    const bad = items.filter((v) => !lower.has(v.toLowerCase()));
    return bad.length === 0 ? { value: items.join(',') } : { problem: `${bad.map((b) => `'${b}'`).join(', ')} not allowed (allowed: ${allowed})` };
  }
  return { value: raw };
}
