/** The wrapper of end-action.lua: owns its KEYS/ARGV order. */
import { invitebusKeys } from '../redis.ts';
import { defineScript } from './define.ts';

export interface EndActionInput {
  prefix: string;
  /** The action's id (`startAction`). */
  actionId: string;
  /** How long ended actions are remembered. */
  ttlMs: number;
}

/** An operator action is done: it ran until now (Redis time). */
export const endAction = defineScript<EndActionInput, void>({
  file: 'end-action',
  keys: 1,
  encode: ({ prefix, actionId, ttlMs }) => ({ keys: [invitebusKeys(prefix).actions], args: [actionId, String(ttlMs)] }),
  decode: () => undefined,
});
