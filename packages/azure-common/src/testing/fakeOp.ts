// The in-memory Op lives in core's testing helpers; re-exported for this package's tests.
export { fakeOp, type FakeOp } from '@hybridcloud-postgresql/core/testing';
