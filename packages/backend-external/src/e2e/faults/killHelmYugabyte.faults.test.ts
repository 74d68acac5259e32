/**
 * Fault suite, scenario 1 for backend `helmyugabyte`: SIGKILL at a random instant during create, update
 * (cpu/memory and an extension), reset-password and delete. The operator as a child process runs
 * real helm with the yugabyte fixture chart, the simulator running YSQL (a PostgreSQL that refuses logins for a while after start, like a tserver) per tablet server; its SQL reaches the simulator through HC_RESOLVER_URL (helm.ts). Inventory:
 * the server's helm releases (any status but uninstalled), roles and databases on its instance,
 * volume claims left after the delete.
 */
import { helmKillSuite } from './helm.js';

helmKillSuite('helmyugabyte', {
  size: { cpu: 1, memoryMB: 2048, storageGB: 1 },
  updatedSize: { cpu: 2, memoryMB: 3072, storageGB: 1 },
  statefulSet: (server) => `${server}-yugabyte-yb-tserver`,
  windowMs: { create: 4000, update: 3000, 'reset-password': 1500, delete: 3000 },
});
