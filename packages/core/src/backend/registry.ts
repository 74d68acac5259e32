import type { Backend } from './contract.js';

export type BackendResolution =
  | { ok: true; id: string; backend: Backend }
  | { ok: false; reason: 'BackendNotAllowed' | 'BackendNotLoaded'; message: string };

/** The backends loaded at startup (only those named in config `backend` / `allowed_backends`). */
export interface BackendRegistry {
  readonly defaultId: string;
  /** Empty → the default backend is always used, whatever spec.backend says. */
  readonly allowed: readonly string[];
  get(id: string): Backend | undefined;
  ids(): string[];
  /**
   * Which backend manages a server. `sticky` is status.backend (once set it wins; a different
   * spec.backend is then reported by the reconciler, not ignored silently).
   */
  resolve(specBackend: string | undefined, sticky: string | undefined): BackendResolution;
}
