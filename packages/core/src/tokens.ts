/**
 * Explicit tsyringe injection tokens for core's services. Explicit tokens (not class metadata)
 * keep injection working under any compiler and make test overrides obvious:
 * `container.register(Tokens.ConnectionResolver, { useValue: myResolver })`.
 */
export const Tokens = {
  Config: Symbol.for('hybridcloud.Config'),
  Logger: Symbol.for('hybridcloud.Logger'),
  KubeConfig: Symbol.for('hybridcloud.KubeConfig'),
  BackendRegistry: Symbol.for('hybridcloud.BackendRegistry'),
  ConnectionResolver: Symbol.for('hybridcloud.ConnectionResolver'),
  EventRecorder: Symbol.for('hybridcloud.EventRecorder'),
  Clock: Symbol.for('hybridcloud.Clock'),
  Metrics: Symbol.for('hybridcloud.Metrics'),
  PasswordGenerator: Symbol.for('hybridcloud.PasswordGenerator'),
  OperatorNamespace: Symbol.for('hybridcloud.OperatorNamespace'),
} as const;

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
