import type { ProviderSandbox } from '../../sandbox/provider-sandbox.ts';
import type { FakeAnswer, RecordedRequest } from '../../sandbox/server.ts';
import type { ClosientInvite } from './index.ts';

/** The organization the sandbox's Closient serves. */
export const SANDBOX_CLOSIENT_ORG = 'NBQ8ukvDUEUcFfYpRwbm4W';

export interface ClosientFakeOptions {
  apiKey?: string;
  orgId?: string;
  members?: string[];
  /** Calls allowed per window (300/min and 10,000/day at Closient; small here to test pacing). */
  perWindow?: number;
  windowSeconds?: number;
}

const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const shortuuid = () => Array.from({ length: 22 }, () => ALPHABET[Math.floor(Math.random() * ALPHABET.length)]).join('');

const err = (status: number, code: string, message: string, extra: Record<string, unknown> = {}) => ({ error: { code, message, status, ...extra } });

/**
 * A local Closient: the membership API with RateLimit-* headers on every answer, 409 CONFLICT for members,
 * 422 VALIDATION_ERROR with details, 429 with Retry-After and retry_after_seconds when the window is spent.
 */
export function closientFake(options: ClosientFakeOptions = {}) {
  const o = { apiKey: 'sandbox-closient-key', orgId: SANDBOX_CLOSIENT_ORG, perWindow: 300, windowSeconds: 60, ...options };
  const members = new Set((o.members ?? []).map((e) => e.toLowerCase()));
  let windowStart = Date.now();
  let used = 0;
  const stats = { calls: 0, over: 0 };

  function handler(req: RecordedRequest): FakeAnswer {
    stats.calls += 1;
    const now = Date.now();
    if (now - windowStart >= o.windowSeconds * 1000) {
      windowStart = now;
      used = 0;
    }
    const resetS = Math.max(1, Math.ceil((windowStart + o.windowSeconds * 1000 - now) / 1000));
    used += 1;
    const remaining = Math.max(0, o.perWindow - used);
    const headers = {
      'ratelimit-policy': `${o.perWindow};w=${o.windowSeconds}`,
      'ratelimit-limit': String(o.perWindow),
      'ratelimit-remaining': String(remaining),
      'ratelimit-reset': String(resetS),
      'x-ratelimit-limit': String(o.perWindow),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(Math.floor(now / 1000) + resetS),
    };
    if (used > o.perWindow) {
      stats.over += 1;
      return {
        status: 429,
        headers: { ...headers, 'retry-after': String(resetS) },
        body: err(429, 'RATE_LIMITED', 'Rate limit exceeded', { retry_after_seconds: resetS }),
      };
    }
    if (req.headers['x-api-key'] !== o.apiKey) return { status: 401, headers, body: err(401, 'UNAUTHORIZED', 'Invalid API key') };
    const path = `/account/api/v1/organizations/${o.orgId}/members`;
    if (req.method !== 'POST' || req.path !== path) return { status: 404, headers, body: err(404, 'NOT_FOUND', 'Organization not found') };
    const body = (req.json ?? {}) as { email?: unknown; role?: unknown };
    const details: Array<{ field: string; message: string }> = [];
    if (typeof body.email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(body.email))
      details.push({ field: 'email', message: 'Enter a valid email address.' });
    if (body.role !== undefined && !['owner', 'manager', 'billing', 'editor'].includes(String(body.role)))
      details.push({ field: 'role', message: 'Invalid role.' });
    if (details.length > 0) return { status: 422, headers, body: err(422, 'VALIDATION_ERROR', 'Invalid request', { details }) };
    const email = String(body.email).toLowerCase();
    if (members.has(email)) return { status: 409, headers, body: err(409, 'CONFLICT', 'User is already a member of this organization') };
    members.add(email);
    const role = String(body.role ?? 'editor');
    return {
      status: 200,
      headers,
      body: { id: shortuuid(), user_email: email, user_name: '', user_metadata: {}, role, role_display: role[0]?.toUpperCase() + role.slice(1) },
    };
  }
  return { handler, stats, settings: o };
}

/** Closient in `invitebus sandbox`, the demo and the tests: 300 calls a minute, as documented. */
export const closientSandbox = {
  env: { SANDBOX_CLOSIENT_API_KEY: 'sandbox-closient-key' },
  account: { orgId: SANDBOX_CLOSIENT_ORG, credentials: { apiKey: { env: 'SANDBOX_CLOSIENT_API_KEY' } } },
  exampleInvite: { role: 'editor' },
  fake: ({ members }) => ({
    handler: closientFake({ members: [...members], perWindow: 300, windowSeconds: 60 }).handler,
    rateLimited: () => ({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: { code: 'RATE_LIMITED', message: 'Rate limit exceeded', status: 429, retry_after_seconds: 1 } },
    }),
  }),
} satisfies ProviderSandbox<ClosientInvite>;
