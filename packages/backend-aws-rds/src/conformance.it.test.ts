/**
 * The testkit's conformance suite for `awsrds`: the backend in core's real controller, its real AWS
 * SDK client against moto behind the RDS proxy (engine versions, fault injection), and one real TLS
 * PostgreSQL per RDS instance standing in for it (moto's endpoints are not connectable).
 */
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { expect } from 'vitest';
import { describeBackendConformance } from '@hybridcloud-postgresql/testkit';
import { TAG_UID, fromTagList } from '@hybridcloud-postgresql/aws-common';
import { MOTO_ENV, startMotoStandIns } from '@hybridcloud-postgresql/aws-common/testing';
import rds from './index.js';

const REGION = 'eu-central-1';

describeBackendConformance({
  definition: rds,
  environment: async ({ namespace }) => {
    const world = await startMotoStandIns(REGION);
    // aws: straight to moto, what exists, unaffected by the proxy's faults.
    const { proxy, fleet, subnetGroup, securityGroupId, aws } = world;
    const instancesOf = async (uid: string) =>
      ((await aws.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).filter((i) => fromTagList(i.TagList)[TAG_UID] === uid);
    return {
      config: {
        backend: 'awsrds',
        backends: {
          awsrds: {
            region: REGION, endpoint: proxy.endpoint, subnet_group: subnetGroup, vpc_security_group_ids: [securityGroupId],
            admin_username: 'rdsmaster', poll_interval_seconds: 1, requests_per_second: 10, final_snapshot: false,
            default_class: 'small', classes: { small: { instance_type: 'db.t4g.small' }, large: { instance_type: 'db.m6g.large', storage_type: 'gp3' } },
          },
        },
      },
      env: { ...MOTO_ENV },
      serverSpec: { version: '16' },
      resolver: fleet.resolver,
      // Every instance tagged with the CR's uid, whatever its identifier.
      resources: async (s) => (await instancesOf(s.uid)).map((i) => `${i.DBInstanceIdentifier} (${i.DBInstanceStatus})`),
      superuserSql: async (sql) => {
        const pg = await fleet.get(`${namespace}-main`);
        if (!pg) throw new Error('no stand-in for the server main');
        return (await pg.psql(sql)).stdout.trim();
      },
      update: {
        spec: { size: { class: 'large', storageGB: 40 } },
        check: async (s) => {
          const [i] = await instancesOf(s.uid);
          expect(i).toMatchObject({ DBInstanceClass: 'db.m6g.large', StorageType: 'gp3', AllocatedStorage: 40 });
        },
      },
      unsupported: { spec: { network: { firewallRules: [{ name: 'office', startIp: '10.0.0.1', endIp: '10.0.0.2' }] } }, fields: ['spec.network.firewallRules'] },
      // Every RDS request but DescribeDBEngineVersions fails: Throttling (400), or InternalFailure /
      // ServiceUnavailable (5xx), half of those after moto took the request (its answer lost).
      fault: async (kind) => {
        proxy.brownout = kind === 'throttled' ? { throttle: 1, serverError: 0 } : { throttle: 0, serverError: 1 };
        return async () => {
          proxy.brownout = undefined;
        };
      },
      close: () => world.close(),
    };
  },
});
