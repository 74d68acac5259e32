export { ArmFake, ArmError, typeOf, type ArmFakeHooks, type ArmFakeOptions, type FaultMatch, type Json, type RequestRecord } from './armFake.js';
export { selfSignedCertificate } from './tls.js';
