/**
 * Console sessions, kept in Redis so that logging out ends them on the server: the cookie carries a random id,
 * Redis keeps only its SHA-256 (a copy of Redis gives no one a session) with the access it grants, expiring with
 * the session (Redis's clock, not ours).
 */
import { createHash, randomBytes } from 'node:crypto';
import { invitebusKeys } from '../redis.ts';
import type { RedisClient } from '../redis-connection/factory.ts';

/** What a token or a session may do: everything, or read only. */
export type Access = 'admin' | 'read';

const hashOf = (id: string) => createHash('sha256').update(id).digest('hex');

/** Where sessions live; one per API instance, sharing Redis with every other instance. */
export class SessionStore {
  private readonly redis: RedisClient;
  private readonly key: (hash: string) => string;

  constructor(redis: RedisClient, prefix: string) {
    this.redis = redis;
    this.key = invitebusKeys(prefix).session;
  }

  /** A new session with this access for `ms`; returns the id the cookie carries. */
  async start(access: Access, ms: number): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.redis.set(this.key(hashOf(id)), access, 'PX', Math.max(1, Math.round(ms)));
    return id;
  }

  /** The access of a live session, or undefined when it ended, expired or never was. */
  async access(id: string): Promise<Access | undefined> {
    const value = await this.redis.get(this.key(hashOf(id)));
    return value === 'admin' || value === 'read' ? value : undefined;
  }

  /** Ends a session (nothing happens for one that is already gone). */
  async end(id: string): Promise<void> {
    await this.redis.del(this.key(hashOf(id)));
  }
}
