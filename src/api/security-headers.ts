/**
 * Response headers that keep the browser door shut (@fastify/helmet). Every answer forbids framing
 * (X-Frame-Options: DENY, which every browser honours): a page elsewhere cannot lay /console under a click of
 * its own. Console pages add a strict Content Security Policy: only the console's own script, stylesheet and
 * API; no inline code, no other origin, and frame-ancestors 'none' (the modern form of the same rule).
 */
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

const SELF = ["'self'"];
const NONE = ["'none'"];

/** Route option for console pages: helmet's baseline plus the console's CSP. */
export const CONSOLE_HELMET = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: SELF,
      scriptSrc: SELF,
      styleSrc: SELF,
      imgSrc: [...SELF, 'data:'],
      connectSrc: SELF,
      objectSrc: NONE,
      baseUri: NONE,
      formAction: SELF,
      frameAncestors: NONE,
    },
  },
} satisfies Omit<FastifyHelmetOptions, 'global'>;

/** Registers the framing protection on every route (console routes add CONSOLE_HELMET). */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    // swagger-ui (/docs) and bull-board (/dashboard) run inline code: they get X-Frame-Options, not a CSP.
    contentSecurityPolicy: false,
    frameguard: { action: 'deny' },
    // HSTS is for whoever terminates TLS for the domain to decide (it covers the domain, not this server).
    strictTransportSecurity: false,
  });
}
