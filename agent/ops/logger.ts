// The agent's logger: pino JSON lines (journald keeps them), with secrets redacted at any depth.
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { REDACTED, redactSecrets } from './redact.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** Bound on every line, e.g. { site: 'eu-west-1' }. */
  base?: Record<string, unknown>;
  /** Where lines go; stdout when absent. */
  destination?: DestinationStream;
}

export type AgentLogger = PinoLogger;

/**
 * pino does not run the bindings formatter on child loggers' bindings, so secrets bound with
 * `logger.child({ token })` are caught by its own path redaction: top-level names only.
 */
const CHILD_BINDING_SECRETS = [
  'password', 'passwd', 'secret', 'token', 'authorization', 'cookie', 'apiKey', 'privateKey', 'credentials',
  'application_credential_secret', '["x-auth-token"]', '["X-Auth-Token"]', '["x-subject-token"]', '["X-Subject-Token"]',
];

export function createLogger(options: LoggerOptions = {}): AgentLogger {
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: CHILD_BINDING_SECRETS, censor: REDACTED },
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redactSecrets(bindings) as Record<string, unknown>,
        log: (object) => redactSecrets(object) as Record<string, unknown>,
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
