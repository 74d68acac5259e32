/**
 * Fault suite, scenario 1 for backend `azurepostgres` (single server): SIGKILL at a random instant during
 * create, update (SKU and storage, and an extension), reset-password and delete. The operator as a child
 * process runs the real Azure SDK against the ARM fake in this process (its long-running
 * operations take 1 s, so kills land while they run), its SQL reaching the stand-in PostgreSQL
 * through the gateway (azure.ts). Inventory: the ARM servers of the CR (owner tags or the token in
 * the name), ARM databases, and roles and databases in the stand-in while a server exists.
 */
import { azureKillSuite } from './azure.js';

azureKillSuite('azurepostgres', {
  size: { storageGB: 100 },
  updatedSize: { cpu: 4, storageGB: 200 },
  updated: (server) => server['sku']?.name === 'GP_Gen5_4' && server['properties']?.storageProfile?.storageMB === 200 * 1024,
});
