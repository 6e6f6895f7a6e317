/**
 * The `intake` config (issue 23): column mapping and HR values checked at load, every problem named with the
 * fix; profiles that differ only in case refused; overlapping profiles warned of.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { configWarnings } from '../../src/config/warnings.ts';
import type { InvitebusError } from '../../src/errors.ts';
import { SANDBOX_CLOSIENT_ORG } from '../../src/providers/closient/sandbox.ts';

const accounts = {
  'acme-uptime': { provider: 'betterstack', credentials: { token: { env: 'T' } } },
  'acme-closient': { provider: 'closient', orgId: SANDBOX_CLOSIENT_ORG, credentials: { apiKey: { env: 'K' } } },
  'acme-unibee': { provider: 'unibee', credentials: { apiKey: { env: 'U' } } },
};
const profiles = { engineering: { 'acme-uptime': { role: 'member' } }, finance: { 'acme-closient': { role: 'billing' } } };

function problems(input: Record<string, unknown>): string[] {
  try {
    parseConfig({ accounts, profiles, ...input });
  } catch (error) {
    expect((error as InvitebusError).code).toBe('CONFIG_INVALID');
    return [...(error as InvitebusError).details];
  }
  throw new Error('expected the config to be refused');
}

describe('intake in the config', () => {
  it('is optional and empty by default', () => {
    expect(parseConfig({ accounts }).intake).toEqual({ columns: {}, values: { profile: {} } });
  });

  it('takes columns mapped to person fields and provider fields, and HR values mapped to profiles in any case', () => {
    const intake = {
      columns: { 'Work Email': 'email', 'Employee ID': 'externalId', Dept: 'profile', 'Start Date': 'startDate', TZ: 'timeZone', Roles: 'roleIds' },
      values: { profile: { 'R&D': 'Engineering', Finance: 'finance' } },
    };
    expect(parseConfig({ accounts, profiles, intake }).intake).toEqual(intake);
  });

  it('names an unknown target field with the fields there are, and a column or value given twice in different case', () => {
    expect(
      problems({ intake: { columns: { 'Work Email': 'mail', 'work email ': 'email' }, values: { profile: { 'R&D': 'engineering', 'r&d': 'finance' } } } }),
    ).toEqual([
      expect.stringMatching(
        /^intake\.columns\.Work Email: unknown field 'mail'; a column can be: email, externalId, firstName, lastName, name, profile, startDate, timeZone, role, /,
      ),
      "intake.columns.work email: the same column as 'Work Email' (columns match in any letter case)",
      "intake.values.profile.r&d: the same value as 'R&D' (values match in any letter case)",
    ]);
  });

  it('refuses an HR value mapped to a profile that is not configured', () => {
    expect(problems({ intake: { values: { profile: { 'R&D': 'enginering' } } } })).toEqual([
      "intake.values.profile.R&D: unknown profile 'enginering'; configured profiles: engineering, finance",
    ]);
  });
});

describe('profiles in any letter case', () => {
  it('refuses two profiles that differ only in case (a row saying "Engineering" would mean either)', () => {
    expect(problems({ profiles: { engineering: { 'acme-uptime': {} }, Engineering: { 'acme-closient': {} } } })).toEqual([
      "profiles.Engineering: differs from profile 'engineering' only in letter case (profile names match in any case)",
    ]);
  });
});

describe('config warnings', () => {
  it('warn once per tool and field that two profiles give different values, naming each', () => {
    const config = parseConfig({
      accounts,
      profiles: {
        engineering: { 'acme-closient': { role: 'editor' }, 'acme-unibee': { roleIds: ['1'] }, 'acme-uptime': { role: 'member' } },
        finance: { 'acme-closient': { role: 'billing' }, 'acme-unibee': { roleIds: ['2'] } },
        ops: { 'acme-closient': { role: 'editor' }, 'acme-uptime': { role: 'member' } },
      },
    });
    expect(configWarnings(config)).toEqual([
      "profiles 'engineering', 'finance', 'ops' give account 'acme-closient' different role (engineering: 'editor', finance: 'billing', ops: 'editor'): a person in several of them gets the value of the first profile their row lists",
      `profiles 'engineering', 'finance' give account 'acme-unibee' different roleIds (engineering: ["1"], finance: ["2"]): a person in several of them gets the value of the first profile their row lists`,
    ]);
    expect(configWarnings(parseConfig({ accounts, profiles }))).toEqual([]);
  });
});
