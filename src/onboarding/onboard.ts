/**
 * Onboarding: one cohort of people into the tools each of them needs, as one batch across accounts. A person
 * gets the accounts of their profile(s) (config `profiles`), or the accounts given; each (person, account)
 * pair is one invite job, its fields the profile's for that account overridden by the person's own for every
 * account that takes them. A person valid for one tool and not another has the valid pairs queued and the
 * rest reported by account and field.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/load.ts';
import { accountOf } from '../config/load.ts';
import { InvitebusError } from '../errors.ts';
import { wrongType } from '../input/describe-value.ts';
import { UNREADABLE } from '../input/zod-messages.ts';
import { type Person, personOf } from '../invites/person.ts';
import type { DuplicateInvite, EnqueueItem, EnqueueOptions, InviteManyResult, NotQueued, Producer, RejectedInvite } from '../producer.ts';
import { type IntakeEntry, IntakeLog } from './intake.ts';
import { profileNamed, profileOfValue } from './profiles.ts';
import { inviteTime, type PersonStart, personStart, SCHEDULE_FIELDS } from './schedule.ts';

/** The column (or field) of a person naming their profiles, several separated by `;` or `|`. */
export const PROFILE_FIELD = 'profile';

/** Which tools people get when their own row names no profile. */
export interface OnboardTargets {
  /** The profile of every person whose row names none. */
  profile?: string;
  /** Or these accounts, with each person's own fields. */
  accounts?: readonly string[];
}

/** Whether the targets name accounts: they then give every person's tools, and a person's profile is not read. */
export const namesAccounts = (targets: OnboardTargets): boolean => (targets.accounts?.length ?? 0) > 0;

/** How an onboarding's refused rows and duplicates are described in its intake log. */
export interface IntakeOptions {
  /** The file or interface the people came by (default 'library'). */
  source?: string;
  /** Where a person was in the input (default "person N", 1-based). */
  positionOf?: (index: number) => string;
}

export interface OnboardResult extends InviteManyResult {
  /** People read (rows, valid or not). */
  people: number;
}

/** A person as a report names them: "Ada Lovelace <ada@example.com>", or the address alone. */
export function whoOf(person: Record<string, unknown>): string | undefined {
  const name = [person.firstName, person.lastName].filter((v) => typeof v === 'string' && v.trim() !== '').join(' ') || person.name;
  const email = typeof person.email === 'string' ? person.email.trim() : undefined;
  const shown = typeof name === 'string' && name.trim() !== '' ? name.trim().slice(0, 120) : undefined;
  if (email === undefined || email === '') return shown;
  return shown === undefined ? email : `${shown} <${email}>`;
}

/**
 * The profiles a person's own `profile` field names (empty when it names none): a name, several separated by
 * `;` or `|`, or a list of names. Anything else (an object, a number, null, a list holding one) is refused by
 * its kind, never converted to a string.
 */
export function profilesOf(person: Record<string, unknown>): string[] | { field: string; message: string } {
  const value = person[PROFILE_FIELD];
  if (value === undefined) return [];
  if (typeof value !== 'string' && !Array.isArray(value)) return { field: PROFILE_FIELD, message: wrongType('a profile name or a list of names', value) };
  const list: unknown[] = typeof value === 'string' ? value.split(/[;|]/) : value;
  const wrong = list.find((p) => typeof p !== 'string');
  if (wrong !== undefined) return { field: PROFILE_FIELD, message: wrongType('a profile name', wrong) };
  return [...new Set((list as string[]).map((p) => p.trim()).filter(Boolean))];
}

/** Checks the targets before anything is read: a profile or accounts, not both, each of them configured. */
export function checkTargets(config: Config, targets: OnboardTargets): void {
  // The API and the CLI give strings; a library caller in plain JavaScript may give anything.
  const wrong = (field: string, message: string) => new InvitebusError('INVITE_INVALID', `${field}: ${message}`, { details: [`${field}: ${message}`] });
  if (targets.profile !== undefined && typeof targets.profile !== 'string') throw wrong('profile', wrongType('a profile name', targets.profile));
  if (targets.accounts !== undefined && !Array.isArray(targets.accounts)) throw wrong('accounts', wrongType('a list of account names', targets.accounts));
  const notName = targets.accounts?.find((a) => typeof a !== 'string');
  if (notName !== undefined) throw wrong('accounts', wrongType('an account name', notName));
  if (targets.profile !== undefined && namesAccounts(targets)) {
    throw new InvitebusError('INVITE_INVALID', 'give a profile or accounts, not both', { details: ['profile: give a profile or accounts, not both'] });
  }
  if (targets.profile !== undefined) profileOf(config, targets.profile);
  for (const account of targets.accounts ?? []) accountOf(config, account);
}

const unknownProfile = (config: Config, name: string) =>
  `unknown profile '${name}'; configured profiles: ${Object.keys(config.profiles).join(', ') || '(none: add "profiles" to the config)'}`;

/** The configured profile `--profile` (or the API's `profile`) names, in any letter case; or UNKNOWN_PROFILE. */
function profileOf(config: Config, name: string): string {
  const profile = profileNamed(config, name);
  if (profile === undefined) throw new InvitebusError('UNKNOWN_PROFILE', unknownProfile(config, name));
  return profile;
}

/**
 * The invites of one person: for each account, the profile's fields, then the person's own; and the person
 * (externalId, names: src/invites/person.ts), kept with each of them. Profiles are named in any letter case, or by
 * an HR value of `intake.values.profile`. A person in several profiles (`engineering;finance`) gets the tools of
 * all of them; where two give one tool a field, the first profile listed wins (the config warns of such overlaps
 * at start-up). Returns the problem instead when the person has an invalid person field (the whole row: it would
 * be kept with every invite), names an unknown profile or no tools at all (with the person, so its refusal can be
 * matched back by its externalId). `externalId` is no invite field; the names stay in the invite for the
 * providers whose invite fields take them (the others' schemas drop them).
 */
export function personInvites(
  config: Config,
  person: unknown,
  targets: OnboardTargets,
):
  | { invites: Array<{ account: string; invite: Record<string, unknown>; profile?: string }>; person?: Person }
  | { field: string; message: string; person?: Person } {
  if (person === null || typeof person !== 'object' || Array.isArray(person)) return { field: '(row)', message: wrongType('an object of fields', person) };
  const read = personOf(person);
  if (!read.ok) return { field: read.field, message: read.message };
  const kept = read.person === undefined ? {} : { person: read.person };
  const { [PROFILE_FIELD]: _profile, externalId: _id, ...own } = person as Record<string, unknown>;
  // When is no invite field: the start date and zone decide the job's time (src/onboarding/schedule.ts).
  for (const field of SCHEDULE_FIELDS) delete own[field];
  // `--account` (the API's `accounts`) gives the tools: a row's profile is then not read (docs/onboarding.md).
  const named = namesAccounts(targets) ? [] : profilesOf(person as Record<string, unknown>);
  if (!Array.isArray(named)) return { ...named, ...kept };
  const given = named.length > 0 ? named : targets.profile !== undefined ? [targets.profile] : [];
  const profiles: string[] = [];
  for (const name of given) {
    const profile = profileOfValue(config, name);
    if (profile === undefined) {
      const hint = named.length > 0 ? ' (or map this value to one in intake.values.profile)' : '';
      return { field: PROFILE_FIELD, message: `${unknownProfile(config, name)}${hint}`, ...kept };
    }
    if (!profiles.includes(profile)) profiles.push(profile);
  }
  const fieldsByAccount = new Map<string, Record<string, unknown>>();
  // The profile that gave each account first: its inviteAt says when that tool is invited.
  const origin = new Map<string, string>();
  for (const profile of profiles) {
    // The first profile listed wins a field: later ones only add the fields and tools it does not give.
    for (const [account, fields] of Object.entries(config.profiles[profile] ?? {})) {
      fieldsByAccount.set(account, { ...fields, ...fieldsByAccount.get(account) });
      if (!origin.has(account)) origin.set(account, profile);
    }
  }
  if (profiles.length === 0) for (const account of targets.accounts ?? []) fieldsByAccount.set(account, {});
  if (fieldsByAccount.size === 0) {
    return { field: PROFILE_FIELD, message: 'no tools for this person: give a profile column, --profile NAME or --account a,b', ...kept };
  }
  return {
    invites: [...fieldsByAccount].map(([account, fields]) => {
      const profile = origin.get(account);
      return { account, invite: { ...fields, ...own }, ...(profile === undefined ? {} : { profile }) };
    }),
    ...kept,
  };
}

/** One row of an onboarding's input: a person at a position, or a row that could not be read there (a file's broken line). */
export type IntakeRow = { index: number; person: unknown } | { index: number; field: string; message: string };

/**
 * Onboards people (objects with `email`, optional `profile` and any invite fields), streamed: every valid
 * (person, account) pair is queued in one batch (the onboarding id), the rest reported by index, account and
 * field. The onboarding completes (one batch.completed) when every pair has its outcome.
 */
export async function onboard(
  producer: Producer,
  people: Iterable<unknown> | AsyncIterable<unknown>,
  targets: OnboardTargets,
  options: EnqueueOptions & IntakeOptions = {},
): Promise<OnboardResult> {
  async function* rows(): AsyncGenerator<IntakeRow> {
    let index = 0;
    // A list is read as a list: `for await` would await each person, reading its `then` (a getter could throw).
    if (Symbol.iterator in Object(people)) for (const person of people as Iterable<unknown>) yield { index: index++, person };
    else for await (const person of people) yield { index: index++, person };
  }
  return onboardRows(producer, rows(), targets, options);
}

/**
 * `onboard` of rows that carry their own position (a file's line numbers) and may be unreadable. Every row not
 * queued goes to the batch's intake log as it is found (not in a dry run); with `onNotQueued` the
 * caller gets it too and nothing is kept, so a file of any size is onboarded in constant memory. Without it,
 * `rejected` (and `duplicateRows`, when asked for) list them, in input order.
 */
export async function onboardRows(
  producer: Producer,
  rows: Iterable<IntakeRow> | AsyncIterable<IntakeRow>,
  targets: OnboardTargets,
  options: EnqueueOptions & IntakeOptions = {},
): Promise<OnboardResult> {
  checkTargets(producer.config, targets);
  const batchId = options.batchId ?? randomUUID();
  const at = Date.now();
  const position = options.positionOf ?? ((index: number) => `person ${index + 1}`);
  const source = options.source ?? 'library';
  const log = options.dryRun ? undefined : new IntakeLog(producer, batchId);
  const caller = options.onNotQueued;
  const kept = caller === undefined ? { rejected: [] as RejectedInvite[], duplicates: [] as DuplicateInvite[] } : undefined;
  const notQueued = async (row: NotQueued) => {
    await log?.add(intakeEntry(row, at, position, source));
    if (caller !== undefined) return caller(row);
    const { kind, ...rest } = row;
    if (kind === 'rejected') kept?.rejected.push(rest as RejectedInvite);
    else kept?.duplicates.push(rest as DuplicateInvite);
  };
  let people = 0;
  async function* items(): AsyncGenerator<EnqueueItem> {
    for await (const row of rows) {
      if (!('person' in row)) {
        await notQueued({ kind: 'rejected', index: row.index, field: row.field, message: row.message });
        continue;
      }
      people += 1;
      const { person } = row;
      let planned:
        | (Exclude<ReturnType<typeof personInvites>, { field: string }> & { start: PersonStart })
        | { field: string; message: string; person?: Person };
      let who: string | undefined;
      try {
        const invites = personInvites(producer.config, person, targets);
        // A row with an unreadable start date or zone is refused whole: its invites' times would be guesses.
        const start = 'field' in invites ? invites : personStart(person as Record<string, unknown>, producer.config.intake);
        planned = 'field' in invites ? invites : 'field' in start ? { ...start, ...(invites.person ? { person: invites.person } : {}) } : { ...invites, start };
        who = person !== null && typeof person === 'object' ? whoOf(person as Record<string, unknown>) : undefined;
      } catch {
        // Only an object handed to the library can throw when read (a getter, a proxy); JSON and CSV cannot.
        planned = { field: '(row)', message: `its fields ${UNREADABLE}` };
      }
      if ('field' in planned) {
        const { field, message, person: known } = planned;
        await notQueued({ kind: 'rejected', index: row.index, ...(who ? { who } : {}), ...(known ? { person: known } : {}), field, message });
        continue;
      }
      const kept = planned.person === undefined ? {} : { person: planned.person };
      for (const { account, invite, profile } of planned.invites) {
        yield { account, invite, index: row.index, ...(who ? { who } : {}), ...kept, ...scheduleOf(producer.config, planned.start, profile) };
      }
    }
  }
  // The intake log (and the batch's refused/duplicates/alreadyInBatch counts) is written before the batch is
  // sealed, so its batch.completed already tells them.
  const beforeSeal = async (result: InviteManyResult) => {
    await log?.close(result.alreadyInBatch);
    await options.beforeSeal?.(result);
  };
  const result = await producer.enqueue(items(), { ...options, batchId, reportDuplicates: true, onNotQueued: notQueued, beforeSeal });
  if (kept !== undefined) {
    result.rejected = kept.rejected.sort((a, b) => a.index - b.index);
    if (options.reportDuplicates) result.duplicateRows = kept.duplicates;
  }
  return { ...result, people };
}

/**
 * When one (person, account) pair is invited: the inviteAt of the profile that gave the account, from the
 * person's start date in their zone. Nothing (now) without a start date or without an inviteAt.
 */
function scheduleOf(config: Config, start: PersonStart, profile: string | undefined): { schedule?: { at: number; timeZone: string } } {
  const inviteAt = profile !== undefined && Object.hasOwn(config.profileSchedules, profile) ? config.profileSchedules[profile] : undefined;
  if (start.start === undefined || inviteAt === undefined) return {};
  return { schedule: { at: inviteTime(start.start, start.zone, inviteAt), timeZone: start.zone } };
}

/** The intake log entry of a row not queued. */
function intakeEntry(row: NotQueued, at: number, position: (index: number) => string, source: string): IntakeEntry {
  const base = {
    at,
    position: position(row.index),
    source,
    ...(row.account ? { account: row.account } : {}),
    ...(row.who ? { who: row.who } : {}),
    ...(row.person ? { person: row.person } : {}),
  };
  if (row.kind === 'rejected') return { kind: 'refused', ...base, field: row.field, message: row.message };
  const message = row.ofIndex === undefined ? `already queued or sent (invite ${row.id})` : `duplicate of ${position(row.ofIndex)} (same address)`;
  return { kind: 'duplicate', ...base, message };
}
