import { type DestinationStream, type Logger, pino } from 'pino';
import { providers } from './providers/index.ts';

/** Property names whose values are secrets wherever they appear, besides each provider's credential names. */
const SECRET_NAMES = ['credentials', 'token', 'accessToken', 'password', 'apiKey', 'secretKey'];

/** A property name as a pino redact path segment: `headers.authorization` or `headers["x-api-key"]`. */
const segment = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `["${name}"]`);

/** Where an ioredis error (logged as `err`, or as the `cause` of one) carries its command's arguments. */
const REDIS_COMMAND_ARGS = ['err.command.args', 'err.cause.command.args', 'command.args', '*.command.args', 'err.previousErrors[*].command.args'];

/**
 * Paths whose values are secrets wherever they appear in a log line: the names above, every provider's
 * credential names and the request headers each provider declares as carrying secrets. Redaction is
 * configuration, so a careless `log.info({ account })` cannot leak a token, and a new provider's header is
 * redacted because its adapter says so.
 */
export function redactPaths(): string[] {
  const adapters = Object.values(providers);
  const headers = new Set(adapters.flatMap((p) => p.secretHeaders));
  const names = new Set([...SECRET_NAMES, ...adapters.flatMap((p) => credentialNames(p))]);
  return [
    ...[...names].flatMap((n) => [n, `*.${n}`]),
    ...[...headers].flatMap((h) => [`headers${segment(h)}`, `*.headers${segment(h)}`]),
    // An ioredis error names the command it answered, arguments included: HELLO 3 AUTH user PASSWORD.
    ...REDIS_COMMAND_ARGS,
  ];
}

/** The credential names a provider's account settings declare (token, apiKey, ...). */
function credentialNames(adapter: { settingsSchema: unknown }): string[] {
  const shape = (adapter.settingsSchema as { shape?: Record<string, unknown> }).shape;
  const credentials = shape?.credentials as { shape?: Record<string, unknown> } | undefined;
  return Object.keys(credentials?.shape ?? {});
}

export type { Logger };

/** The root logger: JSON lines on stdout (or the given stream), secrets redacted. */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'invitebus' },
      redact: { paths: redactPaths(), censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
