/**
 * The Azure world of an integration test in one call: the ARM fake with a resource group, its
 * hooks playing admin passwords and ARM-created databases into a stand-in PostgreSQL, and the
 * gateway clients reach that stand-in through (one listener per Azure server; single server:
 * user@server over TLS, md5 only).
 */
import { ArmFake } from '@hybridcloud-postgresql/azure-fake';
import { azureStandIn, type StandInPostgres } from './postgresStandIn.js';
import { standInGateway, type StandInGateway } from './standInGateway.js';

/** Each Azure server's admin gets a role of its own in the one stand-in (servers share admin_username). */
export const perServerAdminRole = (server: string, login: string): string => `${login.split('@')[0]}@${server}`;

export interface ArmStandIns {
  fake: ArmFake;
  gateway: StandInGateway;
  close(): Promise<void>;
}

export interface ArmStandInsOptions {
  kind: 'flexible' | 'single';
  subscription: string;
  resourceGroup: string;
  /** The configured admin_username (default azadmin). */
  adminLogin?: string;
  /** How long the fake's long-running operations take (default 50 ms). */
  operationMs?: number;
}

export async function startArmStandIns(postgres: StandInPostgres, o: ArmStandInsOptions): Promise<ArmStandIns> {
  const arm = await ArmFake.start({ operationMs: o.operationMs ?? 50 });
  arm.seedResourceGroup(o.subscription, o.resourceGroup);
  azureStandIn(arm, postgres, { adminRole: perServerAdminRole });
  const gateway = await standInGateway(postgres, { kind: o.kind, adminLogin: o.adminLogin ?? 'azadmin', adminRole: perServerAdminRole });
  return {
    fake: arm,
    gateway,
    async close() {
      await gateway.close();
      await arm.stop();
    },
  };
}
