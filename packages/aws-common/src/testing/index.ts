// Test helpers for the AWS backends (not part of the built package).
export * from './fakeOp.js';
export * from './rdsProxy.js';
export * from './motoNetwork.js';
export * from './postgresStandIn.js';
export * from './standInFleet.js';
export * from './motoStandIns.js';
