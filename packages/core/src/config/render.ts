/**
 * The effective configuration for `config check`: defaults applied, values from the environment
 * or the command line marked with a comment, secrets redacted.
 */
import { Document, isMap, isNode, type Node } from 'yaml';
import type { LoadedConfig } from './resolve.js';
import { isPlainObject } from './schemaWalk.js';

/** Key names that hold credentials; their values are never printed. */
const SECRET_KEY = /(password|secret|token|credential|private_?key|access_?key|connection_?string)/i;
/** Keys that name where a secret is (an environment variable), not the secret: shown. */
const REFERENCE_KEY = /_env$/i;
export const isSecretKey = (key: string): boolean => SECRET_KEY.test(key) && !REFERENCE_KEY.test(key);
export const REDACTED = '<redacted>';

export function redactSecrets(value: unknown, key = ''): unknown {
  // Secrets are strings; numbers and flags such as password_length stay visible.
  if (isSecretKey(key) && typeof value === 'string' && value !== '') return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, k)]));
  return value;
}

export function renderEffectiveConfig(loaded: LoadedConfig): string {
  const doc = new Document(redactSecrets(loaded.config));
  const mark = (path: readonly string[], source: string) => {
    const node = doc.getIn(path, true) as Node | undefined;
    if (node && isNode(node)) node.comment = ` from ${source}`;
    else if (isMap(doc.contents)) doc.commentBefore = `${doc.commentBefore ?? ''} ${path.join('.')} from ${source}`;
  };
  for (const o of loaded.envOverrides) mark(o.path, o.variable);
  for (const o of loaded.cliOverrides) mark(o.path, o.flag);
  const header = [`# Effective operator configuration${loaded.filepath ? ` (file: ${loaded.filepath})` : ''}`, ...loaded.warnings.map((w) => `# WARNING: ${w}`)];
  return `${header.join('\n')}\n${doc.toString({ lineWidth: 0 })}`;
}
