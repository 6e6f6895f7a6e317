/**
 * Profile names as people write them: a row's "Engineering", an HR department "R&D" (config
 * `intake.values.profile`), `--profile ENGINEERING`: each means one configured profile, matched without regard
 * to letter case (the config refuses two profiles that differ only in case, so the match is never ambiguous).
 */
import type { Config } from '../config/load.ts';
import { columnKey } from '../input/columns.ts';

interface ProfileIndex {
  /** Lower-case name → the configured name. */
  names: Map<string, string>;
  /** Trimmed lower-case HR value → the configured profile name. */
  values: Map<string, string>;
}

/** Built once per config (a config is frozen, so its index never goes stale). */
const indexes = new WeakMap<Config, ProfileIndex>();

function indexOf(config: Config): ProfileIndex {
  let index = indexes.get(config);
  if (index === undefined) {
    const names = new Map(Object.keys(config.profiles).map((name) => [name.toLowerCase(), name]));
    const values = new Map<string, string>();
    for (const [value, profile] of Object.entries(config.intake.values.profile ?? {})) {
      const name = names.get(profile.trim().toLowerCase());
      if (name !== undefined) values.set(columnKey(value), name);
    }
    index = { names, values };
    indexes.set(config, index);
  }
  return index;
}

/** The configured profile a name means, whatever its letter case; undefined when there is none. */
export function profileNamed(config: Config, name: string): string | undefined {
  return indexOf(config).names.get(name.trim().toLowerCase());
}

/**
 * The configured profile a person's own value means: an HR value mapped by `intake.values.profile` (matched
 * trimmed and in any case), else a profile name in any case; undefined when it means none.
 */
export function profileOfValue(config: Config, value: string): string | undefined {
  return indexOf(config).values.get(columnKey(value)) ?? profileNamed(config, value);
}
