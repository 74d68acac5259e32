/**
 * The testkit's conformance suite for `awsaurora`: the backend in core's real controller, its real
 * AWS SDK client against moto behind the RDS proxy (engine versions, fault injection), and one real
 * TLS PostgreSQL per Aurora cluster standing in for it (moto's endpoints are not connectable).
 */
import { DescribeDBClustersCommand, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { expect } from 'vitest';
import { describeBackendConformance } from '@hybridcloud-postgresql/testkit';
import { TAG_UID, fromTagList } from '@hybridcloud-postgresql/aws-common';
import { MOTO_ENV, startMotoStandIns } from '@hybridcloud-postgresql/aws-common/testing';
import aurora from './index.js';
import { writerIdentifier } from './desired.js';

const REGION = 'eu-central-1';

describeBackendConformance({
  definition: aurora,
  environment: async ({ namespace }) => {
    const world = await startMotoStandIns(REGION);
    // aws: straight to moto, what exists, unaffected by the proxy's faults.
    const { proxy, fleet, subnetGroup, securityGroupId, aws } = world;
    const clustersOf = async (uid: string) =>
      ((await aws.send(new DescribeDBClustersCommand({}))).DBClusters ?? []).filter((c) => fromTagList(c.TagList)[TAG_UID] === uid);
    const instancesOf = async (uid: string) =>
      ((await aws.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).filter((i) => fromTagList(i.TagList)[TAG_UID] === uid);
    return {
      config: {
        backend: 'awsaurora',
        backends: {
          awsaurora: {
            region: REGION, endpoint: proxy.endpoint, subnet_group: subnetGroup, vpc_security_group_ids: [securityGroupId],
            admin_username: 'auroramaster', poll_interval_seconds: 1, requests_per_second: 10, final_snapshot: false,
            default_class: 'serverless',
            classes: { serverless: { instance_type: 'db.serverless', scaling_configuration: { min_capacity: 0.5, max_capacity: 2 } }, large: { instance_type: 'db.r6g.large' } },
          },
        },
      },
      env: { ...MOTO_ENV },
      serverSpec: { version: '16' },
      resolver: fleet.resolver,
      // A server is a cluster with its writer: one entry per cluster tagged with the CR's uid; any
      // other instance of the CR (a second writer, a writer without its cluster) is an entry of its own.
      resources: async (s) => {
        const clusters = await clustersOf(s.uid);
        const writers = new Set(clusters.map((c) => writerIdentifier(c.DBClusterIdentifier!)));
        const instances = await instancesOf(s.uid);
        return [
          ...clusters.map((c) => `cluster ${c.DBClusterIdentifier} (${c.Status}, members ${(c.DBClusterMembers ?? []).map((m) => m.DBInstanceIdentifier).join(' ') || 'none'})`),
          ...instances.filter((i) => !writers.has(i.DBInstanceIdentifier!)).map((i) => `instance ${i.DBInstanceIdentifier} (${i.DBInstanceStatus})`),
        ];
      },
      superuserSql: async (sql) => {
        const pg = await fleet.get(`${namespace}-main`);
        if (!pg) throw new Error('no stand-in for the server main');
        return (await pg.psql(sql)).stdout.trim();
      },
      update: {
        spec: { size: { class: 'large' } },
        check: async (s) => {
          const [c] = await clustersOf(s.uid);
          const writer = (await instancesOf(s.uid)).find((i) => i.DBInstanceIdentifier === writerIdentifier(c!.DBClusterIdentifier!));
          expect(writer?.DBInstanceClass).toBe('db.r6g.large');
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
