export {
  ArmFake, ArmError, FLEXIBLE_PATTERNS, allowedValueProblem, typeOf,
  type ArmFakeHooks, type ArmFakeOptions, type BusyMode, type CallerRole, type CapabilityStatus, type FaultMatch, type Json, type OperationError, type RequestRecord,
} from './armFake.js';
export { selfSignedCertificate } from './tls.js';
