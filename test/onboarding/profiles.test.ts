/**
 * Which tools a person gets, and with which fields (issue 23): profile names in any letter case, HR values
 * mapped to profiles, and the rule for a person in several profiles (the first one their row lists wins).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { checkTargets, personInvites } from '../../src/onboarding/onboard.ts';
import { SANDBOX_CLOSIENT_ORG } from '../../src/providers/closient/sandbox.ts';

const accounts = {
  'acme-uptime': { provider: 'betterstack', credentials: { token: { env: 'T' } } },
  'acme-closient': { provider: 'closient', orgId: SANDBOX_CLOSIENT_ORG, credentials: { apiKey: { env: 'K' } } },
};
const profiles = {
  engineering: { 'acme-uptime': { role: 'member' }, 'acme-closient': { role: 'editor' } },
  finance: { 'acme-closient': { role: 'billing' } },
};
const config = parseConfig({ accounts, profiles, intake: { values: { profile: { 'R&D': 'Engineering', ' Money ': 'finance' } } } });

describe('profile names', () => {
  it("match the configured profile whatever the letter case, in a person's own profile field", () => {
    expect(personInvites(config, { email: 'a@x.io', profile: 'Engineering' }, {})).toEqual({
      invites: [
        { account: 'acme-uptime', invite: { email: 'a@x.io', role: 'member' }, profile: 'engineering' },
        { account: 'acme-closient', invite: { email: 'a@x.io', role: 'editor' }, profile: 'engineering' },
      ],
    });
    expect(personInvites(config, { email: 'a@x.io', profile: ' FINANCE ' }, {})).toEqual({
      invites: [{ account: 'acme-closient', invite: { email: 'a@x.io', role: 'billing' }, profile: 'finance' }],
    });
  });

  it('match in --profile (and the API body profile) whatever the letter case', () => {
    expect(() => checkTargets(config, { profile: 'ENGINEERING' })).not.toThrow();
    expect(personInvites(config, { email: 'a@x.io' }, { profile: 'ENGINEERING' })).toMatchObject({
      invites: [{ account: 'acme-uptime' }, { account: 'acme-closient' }],
    });
  });
});

describe('HR values as profiles (intake.values.profile)', () => {
  it('map a department to its profile, trimmed and in any letter case; a profile name still works beside them', () => {
    expect(personInvites(config, { email: 'a@x.io', profile: 'r&d' }, {})).toMatchObject({
      invites: [{ account: 'acme-uptime' }, { account: 'acme-closient' }],
    });
    expect(personInvites(config, { email: 'a@x.io', profile: 'MONEY' }, {})).toMatchObject({
      invites: [{ account: 'acme-closient', invite: { role: 'billing' } }],
    });
  });

  it('refuse a value that is neither, naming the profiles and where to map it', () => {
    expect(personInvites(config, { email: 'a@x.io', profile: 'Sales' }, { profile: 'finance' })).toEqual({
      field: 'profile',
      message: "unknown profile 'Sales'; configured profiles: engineering, finance (or map this value to one in intake.values.profile)",
    });
  });
});

describe('a person in several profiles', () => {
  it('gets the tools of all of them; where two give one tool a field, the first profile the row lists wins', () => {
    const roles = (profile: string) => {
      const planned = personInvites(config, { email: 'a@x.io', profile }, {});
      if (!('invites' in planned)) throw new Error(planned.message);
      return Object.fromEntries(planned.invites.map((i) => [i.account, i.invite.role]));
    };
    expect(roles('engineering;finance')).toEqual({ 'acme-uptime': 'member', 'acme-closient': 'editor' });
    expect(roles('finance|engineering')).toEqual({ 'acme-closient': 'billing', 'acme-uptime': 'member' });
    // The same profile twice (by name and by its HR value) counts once, at its first place.
    expect(roles('R&D;finance;Engineering')).toEqual({ 'acme-uptime': 'member', 'acme-closient': 'editor' });
  });

  it("still lets the person's own fields win over every profile", () => {
    expect(personInvites(config, { email: 'a@x.io', profile: 'finance;engineering', role: 'manager' }, {})).toMatchObject({
      invites: [
        { account: 'acme-closient', invite: { role: 'manager' } },
        { account: 'acme-uptime', invite: { role: 'manager' } },
      ],
    });
  });
});
