import { BACKEND_API_VERSION, BACKEND_BRAND, type BackendDefinition } from './contract.js';

/**
 * Declares a backend plugin. A backend package default-exports the result and marks itself in
 * its package.json with `"hybridcloudPostgresqlBackend": { "id": "<id>", "apiVersion": 1 }`.
 */
export function defineBackend<Config>(
  def: Omit<BackendDefinition<Config>, 'brand' | 'apiVersion'> & { apiVersion?: number },
): BackendDefinition<Config> {
  return Object.freeze({ ...def, apiVersion: def.apiVersion ?? BACKEND_API_VERSION, brand: BACKEND_BRAND });
}

export function isBackendDefinition(value: unknown): value is BackendDefinition {
  return typeof value === 'object' && value !== null && (value as { brand?: unknown }).brand === BACKEND_BRAND;
}
