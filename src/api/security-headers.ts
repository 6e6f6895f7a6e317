/**
 * Response headers that keep the browser door shut (@fastify/helmet). Every answer forbids framing
 * (X-Frame-Options DENY and CSP frame-ancestors 'none'): a page elsewhere cannot lay /console under a click of
 * its own. Console pages add a strict Content Security Policy: only the console's own script, stylesheet and
 * API; no inline code, no other origin. /docs and /dashboard keep their own inline code, so they get framing
 * protection only.
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
    // A policy about framing only: what the page itself may load is left to the console's own policy below and
    // to swagger-ui's and bull-board's pages, which need inline code (helmet insists default-src be named).
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: helmet.contentSecurityPolicy.dangerouslyDisableDefaultSrc, frameAncestors: NONE },
    },
    frameguard: { action: 'deny' },
    // HSTS is for whoever terminates TLS for the domain to decide (it covers the domain, not this server).
    strictTransportSecurity: false,
  });
}
