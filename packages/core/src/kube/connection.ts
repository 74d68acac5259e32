/**
 * What core needs of a kubeconfig: the API server's address and a way to authenticate a request.
 * client-node's KubeConfig has both, and so has core's own LiteKubeConfig (kube/kubeconfig.ts),
 * which the CLI uses so that running the operator does not load client-node at all: importing
 * it costs about 40 MiB of RSS (every generated API and model, an OIDC and a proxy stack), more
 * than all of core's other dependencies together. Backends that want client-node still get a
 * real KubeConfig (BackendContext.kubeConfig), built on first use.
 */
import { createRequire } from 'node:module';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeConnection {
  getCurrentCluster(): { server: string; name?: string } | null;
  /** Sets TLS material and credentials (certificates, bearer token, basic auth) on request options. */
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

/** A connection that can also hand out an equivalent client-node KubeConfig (LiteKubeConfig). */
interface ConvertibleConnection extends KubeConnection {
  toClientNode(): KubeConfig;
}

const convertible = (c: KubeConnection): c is ConvertibleConnection => typeof (c as Partial<ConvertibleConnection>).toClientNode === 'function';

/**
 * client-node's KubeConfig for a connection: itself when it is one, else the equivalent one
 * (loaded synchronously on first use: Node 24 can `require` an ES module).
 */
export function clientNodeKubeConfig(c: KubeConnection): KubeConfig {
  return convertible(c) ? c.toClientNode() : (c as KubeConfig);
}

/** client-node, loaded synchronously, only when something needs it. */
export function requireClientNode(): typeof import('@kubernetes/client-node') {
  return createRequire(import.meta.url)('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
}
