import { writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

const b64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');

export interface Credential {
  /** Name of the user entry in the kubeconfig (also the context name). */
  name: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
}

/** A KubeConfig for the local control plane that trusts its CA (no skipTLSVerify). */
export function makeKubeConfig(server: string, caPem: string, credential: Credential, namespace?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'testenv', server, caData: b64(caPem), skipTLSVerify: false }],
    users: [{
      name: credential.name,
      ...(credential.certPem ? { certData: b64(credential.certPem) } : {}),
      ...(credential.keyPem ? { keyData: b64(credential.keyPem) } : {}),
      ...(credential.token ? { token: credential.token } : {}),
    }],
    contexts: [{ name: credential.name, cluster: 'testenv', user: credential.name, ...(namespace ? { namespace } : {}) }],
    currentContext: credential.name,
  });
  return kc;
}

/**
 * Writes a kubeconfig file (JSON is valid kubeconfig YAML) that kubectl, helm and a child-process
 * operator can use; 0600 because it carries a private key or token.
 */
export function writeKubeconfig(kc: KubeConfig, path: string): string {
  writeFileSync(path, kc.exportConfig() + '\n', { mode: 0o600 });
  return path;
}
