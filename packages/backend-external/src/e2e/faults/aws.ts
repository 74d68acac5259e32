/**
 * awsrds and awsaurora for the fault suite: moto behind the RDS proxy of aws-common's tests (real RDS error
 * bodies, recorded requests, the master user played on a stand-in PostgreSQL with TLS), the
 * operator as a child process through standInOperator.ts. What exists "in AWS" is read from moto
 * with the Query API (moto routes by the credential scope and does not check signatures).
 */
import { join } from 'node:path';
import { startMoto, startPostgres, type ControlPlane, type Moto, type Postgres } from '@hybridcloud-postgresql/testenv';
import { enableTls, playMasterUser, prepareMotoNetwork, startRdsProxy, type RdsProxy } from '@hybridcloud-postgresql/aws-common/testing';
import { loginError, startOperator, withLogin, type OperatorProcess } from '../harness.js';
import { rolesAndDatabases, tokenObjects, type KillStack } from './killDuringLifecycle.js';

export const REGION = 'eu-central-1';
const AWS_ENV = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true' };

export interface AwsWorld {
  moto: Moto;
  proxy: RdsProxy;
  pgs: Postgres;
  config: Record<string, unknown>;
  /** DB instances in moto: identifier → status and allocated storage. */
  instances(): Promise<Array<{ id: string; status: string; storageGB: number }>>;
  /** DB clusters (Aurora) in moto. */
  clusters(): Promise<Array<{ id: string; status: string }>>;
  /** A Secret's login, its fake RDS host mapped to the stand-in. */
  loginError(data: Record<string, string>, database?: string): Promise<string | undefined>;
  extensions(data: Record<string, string>): Promise<string[]>;
  start(cp: ControlPlane, opts: { namespace: string; id: string; operator?: Record<string, unknown>; backend?: string }): Promise<OperatorProcess>;
  stop(): Promise<void>;
}

export async function startAwsWorld(): Promise<AwsWorld> {
  const [moto, pgs] = await Promise.all([startMoto(), startPostgres()]);
  await enableTls(pgs);
  const proxy = await startRdsProxy(moto.endpoint);
  playMasterUser(proxy, pgs);
  const { subnetGroup, securityGroupId } = await prepareMotoNetwork(moto.endpoint, REGION);
  const query = async (action: string) => {
    const res = await fetch(moto.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${REGION}/rds/aws4_request, SignedHeaders=host, Signature=0` },
      body: new URLSearchParams({ Action: action, Version: '2014-10-31' }).toString(),
    });
    const xml = await res.text();
    if (!res.ok) throw new Error(`${action}: ${res.status} ${xml.slice(0, 300)}`);
    return xml;
  };
  const mapped = (data: Record<string, string>) => ({ ...data, host: pgs.host, port: String(pgs.port) });
  const config = {
    backend: 'awsrds',
    backends: {
      awsrds: {
        region: REGION, endpoint: proxy.endpoint, subnet_group: subnetGroup, vpc_security_group_ids: [securityGroupId], poll_interval_seconds: 1,
        admin_username: 'rdsmaster', default_class: 'small', classes: { small: { instance_type: 'db.t4g.small' } },
      },
      awsaurora: {
        region: REGION, endpoint: proxy.endpoint, subnet_group: subnetGroup, vpc_security_group_ids: [securityGroupId], poll_interval_seconds: 1,
        admin_username: 'auroramaster', default_class: 'serverless',
        classes: { serverless: { instance_type: 'db.serverless', scaling_configuration: { min_capacity: 0.5, max_capacity: 2 } } },
      },
    },
  };
  return {
    moto, proxy, pgs, config,
    async clusters() {
      const xml = await query('DescribeDBClusters');
      return [...xml.matchAll(/<DBCluster>([\s\S]*?)<\/DBCluster>/g)].map((m) => ({
        id: /<DBClusterIdentifier>([^<]+)</.exec(m[1]!)?.[1] ?? '',
        status: /<Status>([^<]+)</.exec(m[1]!)?.[1] ?? '',
      }));
    },
    async instances() {
      const xml = await query('DescribeDBInstances');
      return [...xml.matchAll(/<DBInstance>([\s\S]*?)<\/DBInstance>/g)].map((m) => ({
        id: /<DBInstanceIdentifier>([^<]+)</.exec(m[1]!)?.[1] ?? '',
        status: /<DBInstanceStatus>([^<]+)</.exec(m[1]!)?.[1] ?? '',
        storageGB: Number(/<AllocatedStorage>([^<]+)</.exec(m[1]!)?.[1] ?? 0),
      }));
    },
    loginError: (data, database) => loginError(mapped(data), database),
    extensions: (data) => withLogin(mapped(data), async (c) => (await c.query<{ extname: string }>('SELECT extname FROM pg_extension')).rows.map((r) => r.extname)),
    start: (cp, o) => startOperator({
      cp,
      id: o.id,
      script: join(import.meta.dirname, 'standInOperator.ts'),
      config: { ...config, ...(o.backend ? { backend: o.backend } : {}), operator: { namespace: o.namespace, resync_seconds: 60, log_level: process.env['HC_FAULTS_LOG_LEVEL'] ?? 'info', leader_election: { enabled: false }, ...(o.operator ?? {}) } },
      env: { ...AWS_ENV, HC_STAND_IN: `${pgs.host}:${pgs.port}`, NODE_NO_WARNINGS: '1' },
      args: ['-n', o.namespace],
    }),
    async stop() {
      await proxy.stop();
      await Promise.all([moto.stop(), pgs.stop()]);
    },
  };
}

/**
 * The awsrds lifecycle stack of the SIGKILL and brownout scenarios: one instance per server (its
 * storage grown in the update phase), the database's role and database on the stand-in.
 */
export function rdsStack(aws: AwsWorld, cp: ControlPlane, namespace: string): Omit<KillStack, 'backend' | 'world' | 'windowMs' | 'timeoutMs'> {
  return {
    start: () => aws.start(cp, { namespace, id: `faults-${namespace}` }),
    serverSpec: { size: { storageGB: 20 } },
    serverUpdate: { spec: { size: { storageGB: 30 } }, done: async (token) => (await aws.instances()).some((i) => i.id.includes(token) && i.storageGB === 30) },
    async inventory(token) {
      const instances = (await aws.instances()).filter((i) => i.id.includes(token));
      const names = [...instances.map((i) => `instance:${i.id}(${i.status})`), ...(await tokenObjects(aws.pgs, token))];
      return { servers: instances.length, ...rolesAndDatabases(names), names };
    },
    expected: { servers: 1, roles: 1, databases: 1 },
    loginError: (data, database) => aws.loginError(data, database),
    extensions: (data) => aws.extensions(data),
  };
}
