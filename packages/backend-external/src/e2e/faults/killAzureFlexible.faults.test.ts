/**
 * Fault suite, scenario 1 for backend `azurepostgresflexible` (flexible server): SIGKILL at a random instant during
 * create, update (storage, and an extension), reset-password and delete. The operator as a child
 * process runs the real Azure SDK against the ARM fake in this process (its long-running
 * operations take 1 s, so kills land while they run), its SQL reaching the stand-in PostgreSQL
 * through the gateway (azure.ts). Inventory: the ARM servers of the CR (owner tags or the token in
 * the name), ARM databases, and roles and databases in the stand-in while a server exists.
 */
import { azureKillSuite } from './azure.js';

azureKillSuite('azurepostgresflexible', {
  size: { storageGB: 32 },
  updatedSize: { storageGB: 64 },
  updated: (server) => server['properties']?.storage?.storageSizeGB === 64,
});
