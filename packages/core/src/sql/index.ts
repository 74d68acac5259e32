export { SqlAdmin, type Connection, type DatabaseOptions, type RoleOptions, type LoginCheck, type SqlDialect } from './admin.js';
export { PoolManager, DEFAULT_TIMEOUTS, APPLICATION_NAME, clientConfig, type SqlTimeouts } from './pools.js';
export { classifyPgError } from './errors.js';
export { databaseNameFor, identifierProblem, assertIdentifier, quoteIdent, quoteLiteral, MAX_IDENTIFIER_BYTES } from './names.js';
export { scramVerifier, isScramSafe } from './scram.js';
