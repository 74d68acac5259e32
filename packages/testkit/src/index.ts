// @hybridcloud-postgresql/testkit: conformance tests for backends of the Hybrid Cloud PostgreSQL operator.
export { describeBackendConformance, KIT_API_VERSION, type ConformanceOptions, type Environment, type Harness, type OptionalCheck, type ServerRef } from './conformance.js';
export { startKitOperator, type KitOperator, type KitOperatorOptions } from './operator.js';
export { recordBackend, CallLog, MUTATING, type Recording, type RecordedCall, type CrashPlan, type InjectedError } from './recordingBackend.js';
export { World, eventually, psqlWith, isReady, readyOf } from './world.js';
export { pythonOperatorServer, pythonOperatorSecret } from './pythonOperator.js';
