export { SqlAdmin, EXTENSION_SCHEMA, type Connection, type DatabaseOptions, type RoleOptions, type LoginCheck, type SqlDialect, type DropResult } from './admin.js';
export { PoolManager, DEFAULT_TIMEOUTS, APPLICATION_NAME, PINNED_SESSION_OPTIONS, clientConfig, type SqlTimeouts } from './pools.js';
export { classifyPgError } from './errors.js';
export { databaseNameFor, identifierProblem, assertIdentifier, quoteIdent, quoteLiteral, MAX_IDENTIFIER_BYTES } from './names.js';
export { scramVerifier, isScramSafe } from './scram.js';
export { type Claim, type RoleFacts, type RoleClaim, judgeRole, markerFor, parseMarker, describeHolder, MARKER_PREFIX, ORPHAN_ROLE } from './ownership.js';
export { tryAdminLogin, setRolePasswordVerifier, ensureSuperuserRole, type LoginResult } from './serverAdmin.js';
