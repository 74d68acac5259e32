// Test helpers for the AWS backends (not part of the built package).
export * from './fakeOp.js';
export * from './moto.js';
export * from './rdsProxy.js';
