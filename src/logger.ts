import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * Paths whose values are secrets wherever they appear in a log line. Redaction is configuration, so a
 * careless `log.info({ account })` cannot leak a token.
 */
export const REDACT_PATHS = [
  'credentials',
  '*.credentials',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'headers.SECRET_KEY',
  '*.headers.SECRET_KEY',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'secretKey',
  '*.secretKey',
];

export type { Logger };

/** The root logger: JSON lines on stdout (or the given stream), secrets redacted. */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'invitebus' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
