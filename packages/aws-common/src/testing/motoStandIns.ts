/**
 * The AWS world of an integration test in one call: moto, the RDS proxy in front of it (engine
 * versions, faults, requests recorded), one TLS stand-in PostgreSQL per instance/cluster, the
 * subnet group and security group the backends need, and a client straight to moto (what exists,
 * unaffected by the proxy's faults).
 */
import { RDSClient } from '@aws-sdk/client-rds';
import { startMoto, startPostgres } from '@hybridcloud-postgresql/testenv';
import { prepareMotoNetwork } from './motoNetwork.js';
import { startRdsProxy, type RdsProxy } from './rdsProxy.js';
import { standInFleet, type StandInFleet } from './standInFleet.js';

/** What the AWS SDK needs to talk to moto (and not to the instance metadata service). */
export const MOTO_ENV = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true' } as const;

export interface MotoStandIns {
  moto: Awaited<ReturnType<typeof startMoto>>;
  proxy: RdsProxy;
  fleet: StandInFleet;
  subnetGroup: string;
  securityGroupId: string;
  /** Straight to moto. */
  aws: RDSClient;
  close(): Promise<void>;
}

export async function startMotoStandIns(region: string): Promise<MotoStandIns> {
  for (const [k, v] of Object.entries(MOTO_ENV)) process.env[k] = v;
  const moto = await startMoto();
  const proxy = await startRdsProxy(moto.endpoint);
  const fleet = standInFleet(proxy, () => startPostgres());
  const { subnetGroup, securityGroupId } = await prepareMotoNetwork(moto.endpoint, region);
  const aws = new RDSClient({ region, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  return {
    moto, proxy, fleet, subnetGroup, securityGroupId, aws,
    async close() {
      aws.destroy();
      await fleet.close();
      await proxy.stop();
      await moto.stop();
    },
  };
}
