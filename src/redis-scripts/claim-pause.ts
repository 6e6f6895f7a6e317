/** The wrapper of claim-pause.lua: owns its KEYS/ARGV order and its result codes. */
import { invitebusKeys } from '../redis.ts';
import { defineScript } from './define.ts';

/** claim-pause's answers. */
export const CLAIM_PAUSE = { 0: 'already_paused', 1: 'paused' } as const;

export interface ClaimPauseInput {
  prefix: string;
  account: string;
  /** Why it is paused: stored in the account's state hash. */
  fields: Record<string, string>;
}

/** The first of concurrent pauses of an account records why; true for that caller only. */
export const claimPause = defineScript<ClaimPauseInput, boolean>({
  file: 'claim-pause',
  keys: 1,
  encode: ({ prefix, account, fields }) => ({
    keys: [invitebusKeys(prefix).accountState(account)],
    args: [JSON.stringify(Object.entries(fields).flat())],
  }),
  decode: (reply) => CLAIM_PAUSE[Number(reply) as keyof typeof CLAIM_PAUSE] === 'paused',
});
