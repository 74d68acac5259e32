/**
 * The operator chart: lint and schema, rendered goldens, what the values switch, a real
 * `helm install` of both charts, the ServiceAccount's effective permissions (golden
 * `kubectl auth can-i --list` with its own token) and the restricted Pod Security level.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { CHART, CRD_CHART, find, golden, helm, kubectl, parseManifests, stringify, template, valuesFile, type K8sObject } from './helpers.js';

let cp: ControlPlane;

beforeAll(async () => {
  cp = await useControlPlane();
});

/** operatorConfig as the YAML string the chart's default is (a map over a string default makes helm warn). */
const externalConfig = (extra: Record<string, unknown> = {}) =>
  stringify({ backend: 'external', backends: { external: { host: 'postgres.example.internal', admin_password: 'not-used-here' } }, ...extra });

const rulesOf = (o: K8sObject) => (o['rules'] as Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>) ?? [];
const resourcesOf = (o: K8sObject) => rulesOf(o).flatMap((r) => r.resources);

describe('lint and schema', () => {
  it('passes helm lint --strict', async () => {
    const r = await helm(cp, ['lint', '--strict', CHART]);
    expect(r.stderr + r.stdout).toContain('0 chart(s) failed');
    expect(r.ok).toBe(true);
  });

  it.each([
    ['an unknown top-level key', ['--set', 'replicas=2']],
    ['a bad pull policy', ['--set', 'image.pullPolicy=Sometimes']],
    ['an unknown serviceAccount key', ['--set', 'serviceAccount.clusteradmin=true']],
  ])('values.schema.json rejects %s', async (_what, extra) => {
    const r = await template(cp, {}, { extra });
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/schema/i);
  });

  it('fails early on a config without backend, broken YAML, or replicas without leader election', async () => {
    expect((await template(cp, { operatorConfig: 'allowed_backends: []\n' })).stderr).toContain('operatorConfig must set `backend`');
    expect((await template(cp, { operatorConfig: 'backend: [unclosed\n' })).stderr).toContain('operatorConfig is not valid YAML');
    const r = await template(cp, { replicaCount: 2, operatorConfig: externalConfig({ operator: { leader_election: { enabled: false } } }) });
    expect(r.stderr).toContain('replicaCount > 1 needs leader election');
    expect((await template(cp, { replicaCount: 2, operatorConfig: externalConfig() })).ok).toBe(true);
  });
});

describe('rendering', () => {
  it('renders the defaults as the golden file', async () => {
    const r = await template(cp, {}, { release: 'hybrid-cloud-postgresql-operator', namespace: 'operators' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(golden('default.yaml', r.stdout));
  });

  it('renders namespaced mode with a third-party plugin as the golden file', async () => {
    const values = {
      operatorConfig: externalConfig({ operator: { watch_namespaces: ['team-a', 'team-b'] } }),
      plugins: { install: { packages: ['@acme/hcpg-backend-foo@1.2.3'], registry: 'https://npm.example.com/', npmrcSecret: 'npmrc' } },
      envSecret: 'operator-credentials',
      extraLabels: { team: 'platform' },
      tokenExpirationWorkaround: true,
    };
    const r = await template(cp, values, { release: 'hcpg', namespace: 'operators' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(golden('namespaced-plugins.yaml', r.stdout));
  });

  it('mounts the config verbatim and points OPERATOR_CONFIG at it', async () => {
    const text = 'backend: external # comments survive\nbackends:\n  external:\n    host: db\n';
    const objs = parseManifests((await template(cp, { operatorConfig: text })).stdout);
    const cm = find(objs, 'ConfigMap')[0]!;
    expect((cm['data'] as Record<string, string>)['config.yaml']).toBe(text);
    const dep = find(objs, 'Deployment')[0]! as K8sObject & { spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }>; volumeMounts: Array<{ name: string; mountPath: string }> }>; volumes: Array<{ name: string; configMap?: { name: string } }> } } } };
    const c = dep.spec.template.spec.containers[0]!;
    expect(c.env.find((e) => e.name === 'OPERATOR_CONFIG')?.value).toBe('/operator-config/config.yaml');
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: 'config', mountPath: '/operator-config' }));
    expect(dep.spec.template.spec.volumes.find((v) => v.name === 'config')?.configMap?.name).toBe(cm.metadata.name);
  });

  it('grants the helm-backend permissions only when a helm backend is enabled', async () => {
    const clusterRole = async (values: Record<string, unknown>) => find(parseManifests((await template(cp, values)).stdout), 'ClusterRole', 'hcpg-hybrid-cloud-postgresql-operator')[0]!;
    const without = await clusterRole({ operatorConfig: externalConfig() });
    expect(resourcesOf(without)).not.toContain('statefulsets');
    expect(rulesOf(without).find((r) => r.resources.includes('secrets'))?.verbs).toEqual(['get', 'create', 'update', 'patch', 'delete']);
    const allowed = await clusterRole({ operatorConfig: externalConfig({ allowed_backends: ['external', 'helmyugabyte'] }) });
    expect(resourcesOf(allowed)).toContain('statefulsets');
    expect(rulesOf(allowed).find((r) => r.resources.includes('secrets'))?.verbs).toContain('list');
    const forcedOff = await clusterRole({ rbac: { helmBackends: false } });
    expect(resourcesOf(forcedOff)).not.toContain('statefulsets');
  });

  it('uses Roles in the watched namespaces instead of ClusterRoles in namespaced mode', async () => {
    const objs = parseManifests((await template(cp, { operatorConfig: externalConfig({ operator: { watch_namespaces: ['team-a', 'team-b'] } }), rbac: { aggregateToDefaultRoles: false } })).stdout);
    expect(find(objs, 'ClusterRole')).toEqual([]);
    expect(find(objs, 'ClusterRoleBinding')).toEqual([]);
    expect(find(objs, 'Role').map((r) => r.metadata.namespace).sort()).toEqual(['operators', 'team-a', 'team-b']);
  });

  it('binds cluster-admin only when asked to (the Python chart did by default)', async () => {
    const bindings = async (values: Record<string, unknown>) => find(parseManifests((await template(cp, values)).stdout), 'ClusterRoleBinding').map((b) => (b['roleRef'] as { name: string }).name);
    expect(await bindings({})).not.toContain('cluster-admin');
    expect(await bindings({ serviceAccount: { clusterAdmin: true } })).toContain('cluster-admin');
  });

  it('keeps the Python chart\'s values working: envSecret, extraEnv, extraLabels, tokenExpirationWorkaround, existing ServiceAccount', async () => {
    const objs = parseManifests(
      (await template(cp, { envSecret: 'azure-sp', extraEnv: [{ name: 'FOO', value: 'bar' }], extraLabels: { cost: 'db' }, tokenExpirationWorkaround: true, serviceAccount: { create: false, name: 'my-sa' } })).stdout,
    );
    const dep = find(objs, 'Deployment')[0]! as K8sObject & { spec: { template: { spec: { serviceAccountName: string; containers: Array<{ env: Array<{ name: string }>; envFrom: unknown[] }> } } } };
    expect(dep.spec.template.spec.serviceAccountName).toBe('my-sa');
    expect(dep.spec.template.spec.containers[0]!.envFrom).toEqual([{ secretRef: { name: 'azure-sp' } }]);
    expect(dep.spec.template.spec.containers[0]!.env.map((e) => e.name)).toContain('FOO');
    expect(dep.metadata.labels?.['cost']).toBe('db');
    expect(find(objs, 'ServiceAccount')).toEqual([]);
    // rbac.create follows serviceAccount.create, as the Python chart's RBAC did.
    expect(find(objs, 'ClusterRoleBinding')).toEqual([]);
  });

  it('renders the optional ServiceMonitor and PodDisruptionBudget only when enabled', async () => {
    const kinds = async (values: Record<string, unknown>) => parseManifests((await template(cp, values)).stdout).map((o) => o.kind);
    expect(await kinds({})).not.toContain('ServiceMonitor');
    expect(await kinds({})).not.toContain('PodDisruptionBudget');
    const objs = parseManifests((await template(cp, { serviceMonitor: { enabled: true, labels: { release: 'prom' } }, podDisruptionBudget: { enabled: true }, replicaCount: 2 })).stdout);
    const sm = find(objs, 'ServiceMonitor')[0]! as K8sObject & { spec: { endpoints: Array<{ port: string; path: string }> } };
    expect(sm.metadata.labels?.['release']).toBe('prom');
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
    expect(find(objs, 'PodDisruptionBudget')).toHaveLength(1);
  });

  it('takes the container port from operator.health_port', async () => {
    const objs = parseManifests((await template(cp, { operatorConfig: externalConfig({ operator: { health_port: 9090 } }) })).stdout);
    const dep = find(objs, 'Deployment')[0]! as K8sObject & { spec: { template: { spec: { containers: Array<{ ports: Array<{ containerPort: number }> }> } } } };
    expect(dep.spec.template.spec.containers[0]!.ports[0]!.containerPort).toBe(9090);
  });
});

describe('on the real apiserver', () => {
  let ns: string;
  let team: string;
  const release = () => `hcpg-${ns.slice(-8)}`;

  beforeAll(async () => {
    ns = await createTestNamespace(cp, 'chart-ops');
    team = await createTestNamespace(cp, 'chart-team');
    // The CRD chart: the CRDs may already be there (other test files apply them), so take them over.
    const crds = await helm(cp, ['upgrade', '--install', '--take-ownership', 'hcpg-crds', CRD_CHART, '-n', ns, '--wait', '--timeout', '60s']);
    expect(crds.stderr).not.toMatch(/Error/);
    expect(crds.ok).toBe(true);
  });

  it('installs the operator chart with the defaults (helmbitnami)', async () => {
    const r = await helm(cp, ['install', release(), CHART, '-n', ns]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('STATUS: deployed');
    expect(r.stdout).toContain('Default backend: helmbitnami');
    const got = await kubectl(cp, ['-n', ns, 'get', 'deployment,configmap,serviceaccount,service,role,rolebinding', '-o', 'name']);
    // The namespace's own objects (made by kube-controller-manager, as on every cluster) are not the chart's.
    const own = new Set(['serviceaccount/default', 'configmap/kube-root-ca.crt']);
    expect(got.stdout.split('\n').filter((l) => l && !own.has(l)).sort()).toEqual(
      [
        `configmap/${release()}-hybrid-cloud-postgresql-operator-config`,
        `deployment.apps/${release()}-hybrid-cloud-postgresql-operator`,
        `role.rbac.authorization.k8s.io/${release()}-hybrid-cloud-postgresql-operator-own-namespace`,
        `rolebinding.rbac.authorization.k8s.io/${release()}-hybrid-cloud-postgresql-operator-own-namespace`,
        `service/${release()}-hybrid-cloud-postgresql-operator`,
        `serviceaccount/${release()}-hybrid-cloud-postgresql-operator`,
      ].sort(),
    );
  });

  /** What the ServiceAccount may do, asked with its own token; namespaces normalised. */
  async function canIList(namespace: string): Promise<string> {
    const kc = await cp.kubeConfigForServiceAccount(ns, `${release()}-hybrid-cloud-postgresql-operator`);
    const r = await kubectl(cp, ['auth', 'can-i', '--list', '-n', namespace], { kubeconfig: cp.writeKubeconfig(kc) });
    expect(r.stderr).toBe('');
    return r.stdout.replaceAll(ns, '<operator-namespace>').replaceAll(team, '<team-namespace>').replace(/[ \t]+$/gm, '');
  }

  it('grants the helm-backend ServiceAccount exactly the golden permissions', async () => {
    expect(await canIList(team)).toBe(golden('can-i-helmbitnami-team-namespace.txt', await canIList(team)));
  });

  it('grants the external-backend ServiceAccount exactly the golden permissions, no Secret listing', async () => {
    const r = await helm(cp, ['upgrade', release(), CHART, '-n', ns, '-f', valuesFile(cp, { operatorConfig: externalConfig() })]);
    expect(r.stderr).toBe('');
    const inTeam = await canIList(team);
    expect(inTeam).toBe(golden('can-i-external-team-namespace.txt', inTeam));
    const inOperator = await canIList(ns);
    expect(inOperator).toBe(golden('can-i-external-operator-namespace.txt', inOperator));
    const kc = cp.writeKubeconfig(await cp.kubeConfigForServiceAccount(ns, `${release()}-hybrid-cloud-postgresql-operator`));
    for (const [verb, what, expected] of [
      ['get', 'secrets', 'yes'],
      ['list', 'secrets', 'no'],
      ['watch', 'secrets', 'no'],
      ['create', 'statefulsets.apps', 'no'],
      ['create', 'postgresqlservers.hybridcloud.maibornwolff.de', 'no'],
      ['delete', 'namespaces', 'no'],
    ] as const) {
      const res = await kubectl(cp, ['auth', 'can-i', verb, what, '-n', team], { kubeconfig: kc });
      expect(`${verb} ${what}: ${res.stdout.trim()}`).toBe(`${verb} ${what}: ${expected}`);
    }
  });

  it('limits the ServiceAccount to the watched namespaces in namespaced mode', async () => {
    const other = await createTestNamespace(cp, 'chart-other');
    const config = externalConfig({ operator: { watch_namespaces: [team] } });
    const r = await helm(cp, ['upgrade', release(), CHART, '-n', ns, '-f', valuesFile(cp, { operatorConfig: config })]);
    expect(r.stderr).toBe('');
    const inTeam = await canIList(team);
    expect(inTeam).toBe(golden('can-i-namespaced-watched.txt', inTeam));
    const inOther = (await canIList(other)).replaceAll(other, '<other-namespace>');
    expect(inOther).toBe(golden('can-i-namespaced-unwatched.txt', inOther));
    expect(inOther).not.toContain('secrets');
  });

  describe('restricted Pod Security', () => {
    let restricted: string;
    beforeAll(async () => {
      restricted = await createTestNamespace(cp, 'chart-restricted');
      await kubectl(cp, ['label', 'namespace', restricted, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/enforce-version=latest']);
    });

    /** A Pod made from the rendered Deployment's pod template (PSA enforces on Pods, only warns on Deployments). */
    async function podFromChart(values: Record<string, unknown>): Promise<K8sObject> {
      const objs = parseManifests((await template(cp, values, { namespace: restricted })).stdout);
      const dep = find(objs, 'Deployment')[0]! as K8sObject & { spec: { template: { metadata: Record<string, unknown>; spec: Record<string, unknown> } } };
      return { apiVersion: 'v1', kind: 'Pod', metadata: { ...dep.spec.template.metadata, name: `operator-${randomBytes(3).toString('hex')}`, namespace: restricted }, spec: dep.spec.template.spec };
    }
    const createDryRun = (pod: K8sObject) => kubectl(cp, ['create', '--dry-run=server', '-f', '-'], { input: pod });

    it.each([
      ['the defaults', {}],
      ['the plugin init container', { plugins: { install: { packages: ['@acme/hcpg-backend-foo@1.2.3'] } } }],
    ])('accepts a Pod from the Deployment template with %s', async (_what, values) => {
      const r = await createDryRun(await podFromChart(values));
      expect(r.stderr).toBe('');
      expect(r.ok).toBe(true);
    });

    it('rejects the same Pod once a restricted-profile setting is taken away (the check bites)', async () => {
      const pod = await podFromChart({});
      const container = (pod['spec'] as { containers: Array<{ securityContext: Record<string, unknown> }> }).containers[0]!;
      delete container.securityContext['capabilities'];
      const r = await createDryRun(pod);
      expect(r.ok).toBe(false);
      expect(r.stderr).toContain('violates PodSecurity "restricted:latest"');
    });

    it('accepts the Deployment itself without PodSecurity warnings', async () => {
      const objs = parseManifests((await template(cp, { operatorConfig: externalConfig() }, { namespace: restricted })).stdout);
      const r = await kubectl(cp, ['apply', '--dry-run=server', '-f', '-'], { input: find(objs, 'Deployment')[0] });
      expect(r.ok).toBe(true);
      expect(r.stderr).not.toContain('PodSecurity');
    });
  });
});
