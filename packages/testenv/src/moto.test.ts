import { CreateDBInstanceCommand, DeleteDBInstanceCommand, DescribeDBInstancesCommand, DBInstanceNotFoundFault, RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type Moto } from './index.js';

let moto: Moto;
let rds: RDSClient;
beforeAll(async () => {
  moto = await startMoto();
  rds = new RDSClient({ region: 'eu-central-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
});
afterAll(async () => {
  rds?.destroy();
  await moto?.stop();
});

describe('moto_server with the real RDS SDK', () => {
  it('creates, describes and deletes a DB instance', async () => {
    const created = await rds.send(new CreateDBInstanceCommand({
      DBInstanceIdentifier: 'proof-db', Engine: 'postgres', EngineVersion: '16.3', DBInstanceClass: 'db.t4g.micro',
      AllocatedStorage: 20, MasterUsername: 'pgadmin', MasterUserPassword: 'not-a-secret-1', Tags: [{ Key: 'owner', Value: 'testenv' }],
    }));
    expect(created.DBInstance?.DBInstanceIdentifier).toBe('proof-db');

    const described = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'proof-db' }));
    expect(described.DBInstances?.[0]).toMatchObject({ Engine: 'postgres', AllocatedStorage: 20, MasterUsername: 'pgadmin' });
    expect(described.DBInstances?.[0]?.Endpoint?.Port).toBe(5432);

    await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'proof-db', SkipFinalSnapshot: true }));
    await expect(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'proof-db' }))).rejects.toBeInstanceOf(DBInstanceNotFoundFault);
  });

  it('forgets everything on reset()', async () => {
    await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: 'to-forget', Engine: 'postgres', DBInstanceClass: 'db.t4g.micro', AllocatedStorage: 20, MasterUsername: 'u', MasterUserPassword: 'p-12345678' }));
    await moto.reset();
    const all = await rds.send(new DescribeDBInstancesCommand({}));
    expect(all.DBInstances ?? []).toEqual([]);
  });
});
