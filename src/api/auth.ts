/**
 * Who is asking, and what they may do. Machines send `Authorization: Bearer <token>`; people log in at /login
 * with a token and get a session cookie (signed by @fastify/cookie, HttpOnly, SameSite=Strict, Secure over
 * https, with an expiry); browser writes carry a CSRF token (@fastify/csrf-protection). The API token can do
 * everything; read-only tokens can look. Failed and successful logins are rate-limited (@fastify/rate-limit).
 */
import { createHash, hkdfSync, timingSafeEqual } from 'node:crypto';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** What a caller may do: everything, or only look. */
export type Access = 'admin' | 'read';

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
/** Paths anyone may open: health checks, the login page and the console's static assets. */
const PUBLIC = [/^\/healthz$/, /^\/readyz$/, /^\/login$/, /^\/console\/assets\//];
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

/** The session in a signed cookie: the access and when it ends (ms). */
function readSession(request: FastifyRequest): Access | undefined {
  const raw = request.cookies[SESSION_COOKIE];
  if (raw === undefined) return undefined;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return undefined;
  try {
    const session = JSON.parse(unsigned.value) as { a?: unknown; e?: unknown };
    if (typeof session.e !== 'number' || session.e < Date.now()) return undefined;
    return session.a === 'admin' || session.a === 'read' ? session.a : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a session: a signed cookie the browser sends back on same-site requests only. */
export function startSession(request: FastifyRequest, reply: FastifyReply, access: Access, hours: number): void {
  const expires = new Date(Date.now() + hours * 3_600_000);
  reply.setCookie(SESSION_COOKIE, JSON.stringify({ a: access, e: expires.getTime() }), {
    signed: true,
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    path: '/',
    expires,
  });
}

export function endSession(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}

/**
 * Registers cookies (signed with a key derived from the API token: rotating the token ends every session),
 * form bodies, CSRF protection and the rate limiter, and the hook that authenticates every request.
 */
export async function registerAuth(app: FastifyInstance, tokens: ApiTokens): Promise<void> {
  const secret = Buffer.from(hkdfSync('sha256', tokens.admin, 'invitebus', 'session cookie', 32)).toString('base64');
  await app.register(cookie, { secret });
  await app.register(formbody);
  await app.register(csrf, { sessionPlugin: '@fastify/cookie', cookieOpts: { signed: true, httpOnly: true, sameSite: 'strict', path: '/' } });
  await app.register(rateLimit, { global: false });

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (PUBLIC.some((p) => p.test(path))) return;
    const header = request.headers.authorization;
    if (header !== undefined) {
      request.access = tokenAccess(presentedToken(header), tokens);
      request.authBy = 'bearer';
    } else {
      request.access = readSession(request);
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
