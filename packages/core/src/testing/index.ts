// Helpers for tests of core and of backend packages (`@hybridcloud-postgresql/core/testing`).
export { TestEventRecorder, type RecordedEvent } from './events.js';
export { reconcileUntil, type SettleOptions } from './driver.js';
export { startTestPostgres, type TestPostgres } from './postgres.js';
export { fakeOp, type FakeOp } from './fakeOp.js';
