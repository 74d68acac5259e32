/**
 * Fault suite, scenario 1 for backend `helmbitnami`: SIGKILL at a random instant during create, update
 * (cpu/memory and an extension), reset-password and delete. The operator as a child process runs
 * real helm with the Bitnami fixture chart, the simulator running a PostgreSQL per release; its SQL reaches the simulator through HC_RESOLVER_URL (helm.ts). Inventory:
 * the server's helm releases (any status but uninstalled), roles and databases on its instance,
 * volume claims left after the delete.
 */
import { helmKillSuite } from './helm.js';

helmKillSuite('helmbitnami', {
  size: { cpu: 1, memoryMB: 256, storageGB: 1 },
  updatedSize: { cpu: 2, memoryMB: 512, storageGB: 1 },
  statefulSet: (server) => `${server}-postgresql`,
  windowMs: { create: 4000, update: 3000, 'reset-password': 1500, delete: 3000 },
});
