/**
 * The operator's admin password for the external server: inline, from an environment variable,
 * or from a Secret (read when needed, cached briefly so a rotation is picked up). Never logged.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { terminal, retryable } from '@hybridcloud-postgresql/core';
import type { ExternalConfig } from './config.js';

const CACHE_MS = 30_000;

export class AdminPasswordSource {
  private cached: { value: string; at: number } | undefined;

  constructor(
    private readonly config: ExternalConfig,
    /** Asked only when the password is in a Secret: building it loads client-node (core's kube/connection.ts). */
    private readonly kubeConfig: () => KubeConfig,
    private readonly operatorNamespace: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Called at startup so a missing source fails fast; the Secret is checked on use. */
  checkConfigured(): void {
    const c = this.config;
    const sources = [c.admin_password, c.admin_password_env, c.admin_password_secret].filter((s) => s !== undefined).length;
    if (sources !== 1) throw new Error('backends.external: set exactly one of admin_password, admin_password_env, admin_password_secret');
    if (c.admin_password_env && !this.env[c.admin_password_env]) throw new Error(`backends.external.admin_password_env: environment variable ${c.admin_password_env} is not set`);
  }

  async get(): Promise<string> {
    const c = this.config;
    if (c.admin_password) return c.admin_password;
    if (c.admin_password_env) {
      const v = this.env[c.admin_password_env];
      if (!v) throw terminal('AdminCredentialsMissing', `environment variable ${c.admin_password_env} (backends.external.admin_password_env) is empty`);
      return v;
    }
    const ref = c.admin_password_secret!;
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.value;
    const namespace = ref.namespace ?? this.operatorNamespace;
    let data: Record<string, string> | undefined;
    try {
      const { CoreV1Api } = await import('@kubernetes/client-node');
      data = (await this.kubeConfig().makeApiClient(CoreV1Api).readNamespacedSecret({ namespace, name: ref.name })).data;
    } catch (err) {
      throw retryable(`cannot read admin Secret ${namespace}/${ref.name}: ${(err as { code?: number }).code ?? (err as Error).message}`, undefined, 'AdminCredentialsMissing');
    }
    const b64 = data?.[ref.key];
    if (!b64) throw retryable(`admin Secret ${namespace}/${ref.name} has no key ${ref.key}`, undefined, 'AdminCredentialsMissing');
    const value = Buffer.from(b64, 'base64').toString('utf8');
    this.cached = { value, at: Date.now() };
    return value;
  }
}
