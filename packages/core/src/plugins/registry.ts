import type { Backend } from '../backend/contract.js';
import type { BackendRegistry, BackendResolution } from '../backend/registry.js';

/**
 * The backends loaded at startup. allowed_backends empty → the default backend, always (as the
 * original documents; the reconciler reports an ignored spec.backend). Non-empty → spec.backend
 * (or the default) must be listed. A sticky status.backend wins when it is loaded.
 */
export class LoadedBackendRegistry implements BackendRegistry {
  readonly defaultId: string;
  readonly allowed: readonly string[];
  private readonly backends: ReadonlyMap<string, Backend>;

  constructor(defaultId: string, allowed: readonly string[], backends: ReadonlyMap<string, Backend>) {
    this.defaultId = defaultId;
    this.allowed = [...allowed];
    this.backends = backends;
  }

  get(id: string): Backend | undefined {
    return this.backends.get(id);
  }

  ids(): string[] {
    return [...this.backends.keys()];
  }

  resolve(specBackend: string | undefined, sticky: string | undefined): BackendResolution {
    if (sticky) {
      const backend = this.backends.get(sticky);
      if (backend) return { ok: true, id: sticky, backend };
      return {
        ok: false,
        reason: 'BackendNotLoaded',
        message: `This resource is managed by backend '${sticky}' (status.backend), which is not enabled in the operator (enabled: ${this.ids().join(', ')}). Ask your platform admin to enable it.`,
      };
    }
    const wanted = this.allowed.length === 0 ? this.defaultId : specBackend || this.defaultId;
    if (this.allowed.length > 0 && !this.allowed.includes(wanted)) {
      return { ok: false, reason: 'BackendNotAllowed', message: `spec.backend '${wanted}' is not allowed; choose one of: ${this.allowed.join(', ')} (or leave it empty for '${this.defaultId}').` };
    }
    const backend = this.backends.get(wanted);
    if (!backend) return { ok: false, reason: 'BackendNotLoaded', message: `Backend '${wanted}' is not loaded (enabled: ${this.ids().join(', ')}).` };
    return { ok: true, id: wanted, backend };
  }

  /** Releases every backend's clients (shutdown). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.backends.values()].map((b) => b.close?.()));
  }
}
