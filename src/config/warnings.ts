/**
 * What a valid config may still get wrong: said once when a command loads it, never refused (a person in two
 * overlapping profiles is served by a documented rule, but whoever wrote the profiles should know).
 */
import type { Logger } from '../logger.ts';
import type { Config } from './load.ts';

/** A value as a warning shows it: JSON ('editor', ["12"]). */
const shown = (value: unknown) => (typeof value === 'string' ? `'${value}'` : JSON.stringify(value));

/**
 * Two profiles giving one tool (account) different values for one field: a person in both gets the value of the
 * first profile their row lists. One warning per (account, field), naming every profile and its value.
 */
export function profileConflicts(config: Config): string[] {
  const byField = new Map<string, Array<{ profile: string; value: unknown }>>();
  for (const [profile, accounts] of Object.entries(config.profiles)) {
    for (const [account, fields] of Object.entries(accounts)) {
      for (const [field, value] of Object.entries(fields)) {
        const key = JSON.stringify([account, field]);
        byField.set(key, [...(byField.get(key) ?? []), { profile, value }]);
      }
    }
  }
  const warnings: string[] = [];
  for (const [key, given] of byField) {
    if (new Set(given.map((g) => JSON.stringify(g.value))).size < 2) continue;
    const [account, field] = JSON.parse(key) as [string, string];
    warnings.push(
      `profiles ${given.map((g) => `'${g.profile}'`).join(', ')} give account '${account}' different ${field} ` +
        `(${given.map((g) => `${g.profile}: ${shown(g.value)}`).join(', ')}): a person in several of them gets the value of the first profile their row lists`,
    );
  }
  return warnings;
}

/** Every warning about a valid config, in a stable order. */
export function configWarnings(config: Config): string[] {
  return profileConflicts(config);
}

/** Says each warning through a logger (a command's stderr logger, a worker's own log). */
export function logConfigWarnings(config: Config, logger: Pick<Logger, 'warn'>): void {
  for (const warning of configWarnings(config)) logger.warn({ configWarning: true }, warning);
}
