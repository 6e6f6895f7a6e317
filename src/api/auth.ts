/**
 * Who is asking, and what they may do. Machines send `Authorization: Bearer <token>`; people log in at /login
 * with a token and get a session cookie (signed by @fastify/cookie, HttpOnly, SameSite=Strict, Secure over
 * https — also behind a trusted TLS-terminating proxy —, with an expiry) naming a session kept in Redis, so that
 * logout ends it; browser writes carry a CSRF token (@fastify/csrf-protection). The API token can do everything;
 * read-only tokens can look. Logins, and wrong bearer tokens, are rate-limited per client address
 * (@fastify/rate-limit); a right token is never held.
 */
import { createHash, hkdfSync, timingSafeEqual } from 'node:crypto';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Access, SessionStore } from './sessions.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** What a caller may do: everything, or only look. */
export type { Access } from './sessions.ts';

export interface ApiTokens {
  admin: string;
  read: readonly string[];
}

/** Constant-time comparison of a presented token with a known one: both hashed to equal-length digests first. */
function same(presented: string, token: string): boolean {
  return timingSafeEqual(digest(presented), digest(token)) && presented !== '';
}

/** The token of an `Authorization: Bearer <token>` header ('' when there is none). */
function presentedToken(header: string | undefined): string {
  return /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '';
}

/**
 * Constant-time check of an `Authorization: Bearer <token>` header: both sides are hashed to equal-length
 * digests first, so neither the token's content nor its length leaks through timing.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  return same(presentedToken(header), token);
}

/** The access a token gives, checking every known token (no early exit on a match). */
export function tokenAccess(presented: string, tokens: ApiTokens): Access | undefined {
  const admin = same(presented, tokens.admin);
  const read = tokens.read.map((t) => same(presented, t)).some(Boolean);
  return admin ? 'admin' : read ? 'read' : undefined;
}

export const SESSION_COOKIE = 'invitebus_session';
/**
 * Paths anyone may open: health checks, the login page, the console's static assets, and logout (any session,
 * read-only included, or none at all, may end itself; the route checks the CSRF token).
 */
const PUBLIC = [/^\/healthz$/, /^\/readyz$/, /^\/login$/, /^\/logout$/, /^\/console\/assets\//];
/** Pages a browser opens: without a session they redirect to the login page instead of answering 401. */
const PAGES = /^\/(console|docs|dashboard)(\/|$)/;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the caller is allowed to be, once authenticated. */
    access?: Access;
    /** How: a bearer token (machines) or the session cookie (people). */
    authBy?: 'bearer' | 'session';
  }
}

/** The session id in the signed cookie, if there is a well-formed one. */
function sessionId(request: FastifyRequest): string | undefined {
  const raw = request.cookies[SESSION_COOKIE];
  if (raw === undefined) return undefined;
  const unsigned = request.unsignCookie(raw);
  return unsigned.valid && unsigned.value !== null && unsigned.value !== '' ? unsigned.value : undefined;
}

/** Starts a session: kept in Redis, named by a signed cookie the browser sends back on same-site requests only. */
export async function startSession(request: FastifyRequest, reply: FastifyReply, sessions: SessionStore, access: Access, hours: number): Promise<void> {
  const ms = hours * 3_600_000;
  const id = await sessions.start(access, ms);
  reply.setCookie(SESSION_COOKIE, id, {
    signed: true,
    httpOnly: true,
    sameSite: 'strict',
    // request.protocol believes X-Forwarded-Proto only from the proxies in api.trustProxy.
    secure: request.protocol === 'https',
    path: '/',
    expires: new Date(Date.now() + ms),
  });
}

/** Ends the caller's session on the server (a copied cookie stops working too) and clears the cookie. */
export async function endSession(request: FastifyRequest, reply: FastifyReply, sessions: SessionStore): Promise<void> {
  const id = sessionId(request);
  if (id !== undefined) await sessions.end(id);
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}

export interface AuthOptions {
  tokens: ApiTokens;
  sessions: SessionStore;
  /** Wrong bearer tokens allowed per client address per minute. */
  failedTokensPerMinute: number;
}

/**
 * Registers cookies (signed with a key derived from the API token: rotating the token ends every session),
 * form bodies, CSRF protection and the rate limiter, and the hook that authenticates every request.
 */
export async function registerAuth(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const { tokens, sessions } = options;
  const secret = Buffer.from(hkdfSync('sha256', tokens.admin, 'invitebus', 'session cookie', 32)).toString('base64');
  await app.register(cookie, { secret });
  await app.register(formbody);
  await app.register(csrf, { sessionPlugin: '@fastify/cookie', cookieOpts: { signed: true, httpOnly: true, sameSite: 'strict', path: '/' } });
  await app.register(rateLimit, { global: false });
  // Counts wrong tokens only (its own store, keyed by request.ip): a guesser is held, a right token never is.
  const wrongToken = app.createRateLimit({ max: options.failedTokensPerMinute, timeWindow: 60_000 });

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (PUBLIC.some((p) => p.test(path))) return;
    const header = request.headers.authorization;
    if (header !== undefined) {
      request.access = tokenAccess(presentedToken(header), tokens);
      request.authBy = 'bearer';
      if (request.access === undefined) {
        const limit = await wrongToken(request);
        if (!limit.isAllowed && limit.isExceeded)
          return reply
            .code(429)
            .header('retry-after', String(Math.max(1, Math.ceil(limit.ttl / 1000))))
            .send({ error: 'too_many_requests', message: 'too many wrong tokens from this address; wait before trying again' });
      }
    } else {
      const id = sessionId(request);
      request.access = id === undefined ? undefined : await sessions.access(id);
      request.authBy = request.access === undefined ? undefined : 'session';
    }
    if (request.access === undefined) {
      // A person without a session goes to the login page; a machine with a wrong token is told so.
      if (header === undefined && SAFE.has(request.method) && PAGES.test(path)) return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`);
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'unauthorized', message: 'send Authorization: Bearer <token>, or log in at /login' });
    }
    if (!SAFE.has(request.method) && request.access === 'read') {
      return reply.code(403).send({ error: 'forbidden', message: 'this token is read-only: it can look, not change anything' });
    }
  });
  // A browser's writes must carry the CSRF token of its session; machines with a bearer token need none.
  app.addHook('preHandler', (request, reply, done) => {
    if (SAFE.has(request.method) || request.authBy !== 'session') return done();
    app.csrfProtection(request, reply, done);
  });
}
