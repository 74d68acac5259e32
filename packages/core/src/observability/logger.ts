import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = Pick<PinoLogger, 'info' | 'warn' | 'error' | 'debug' | 'trace' | 'fatal' | 'child'>;

/**
 * JSON logs. Every key that may carry a secret is redacted, at any depth we log objects at, so a
 * careless `log.info({ values })` cannot leak a password.
 */
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password',
  'adminPassword', '*.adminPassword',
  'masterUserPassword', '*.MasterUserPassword', 'MasterUserPassword',
  'administratorLoginPassword', '*.administratorLoginPassword', '*.*.administratorLoginPassword',
  'token', '*.token', 'authorization', '*.authorization', '*.headers.authorization',
  'uri', '*.uri', '"jdbc-uri"', '*["jdbc-uri"]', 'data', '*.data', 'stringData', '*.stringData',
];

export function createLogger(options: { level?: string; name?: string } = {}, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      name: options.name ?? 'hybridcloud-postgresql-operator',
      level: options.level ?? process.env['LOG_LEVEL'] ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as never,
  );
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });
