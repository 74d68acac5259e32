// Test helpers for the Azure backends (not part of the built package).
export * from './fakeOp.js';
export * from './converge.js';
export * from './postgresStandIn.js';
export * from './standInGateway.js';
export * from './armStandIns.js';
