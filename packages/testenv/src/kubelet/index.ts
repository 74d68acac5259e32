export { KubeletSimulator, bitnamiProfile, yugabyteProfile, type PodProfile, type KubeletSimulatorOptions } from './simulator.js';
export { PostgresInstance } from './postgresInstance.js';
export type { YsqlStartup } from './ysqlGate.js';
