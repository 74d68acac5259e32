// Public API of core for backend packages and tools. Everything else is internal.
export * from './api/schema.js';
export * from './backend/contract.js';
export * from './backend/errors.js';
export { defineBackend, isBackendDefinition } from './backend/defineBackend.js';
export { createLogger, silentLogger, type Logger } from './observability/logger.js';
export * from './controller/reconciler.js';
export * from './kube/events.js';
export * from './backend/registry.js';
export * from './backend/connectionResolver.js';
export { Tokens, systemClock, type Clock } from './tokens.js';
export * from './config/index.js';
export * from './plugins/index.js';
export { generatePassword, passwordGeneratorFor, type PasswordGenerator, type PasswordOptions } from './credentials/password.js';
export * from './sql/index.js';
export { createContainer, type ContainerModule, type CreateContainerOptions } from './di/container.js';
export * from './reconcile/index.js';
export * from './credentials/secret.js';
