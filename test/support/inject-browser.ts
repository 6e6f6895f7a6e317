import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/** The `_csrf` hidden field of a page's forms. */
export const formCsrf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
/** The CSRF token a console page hands its script (meta tag). */
export const metaCsrf = (html: string) => /name="csrf-token" content="([^"]+)"/.exec(html)?.[1] ?? '';

/**
 * A browser over fastify.inject: keeps cookies between requests (dropping cleared ones) and comes from one client
 * address; `headers` are sent with every request (e.g. what a proxy adds).
 */
export function injectBrowser(app: FastifyInstance, ip = '10.0.0.1', headers: Record<string, string> = {}) {
  const jar = new Map<string, string>();
  const keep = (res: LightMyRequestResponse) => {
    for (const c of res.cookies) {
      if (c.value === '' || (c.expires && c.expires.getTime() < Date.now())) jar.delete(c.name);
      else jar.set(c.name, c.value);
    }
    return res;
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  return {
    jar,
    get: async (url: string) => keep(await app.inject({ url, headers: { ...headers, cookie: cookie() }, remoteAddress: ip })),
    post: async (url: string, payload: Record<string, string> | object, extra: Record<string, string> = {}, form = false) =>
      keep(
        await app.inject({
          method: 'POST',
          url,
          remoteAddress: ip,
          headers: { ...headers, cookie: cookie(), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...extra },
          payload: form ? new URLSearchParams(payload as Record<string, string>).toString() : (payload as object),
        }),
      ),
    /** Logs in through the form, as a person does. */
    async login(token: string, next = '/console') {
      const form = await this.get(`/login?next=${encodeURIComponent(next)}`);
      return this.post('/login', { token, _csrf: formCsrf(form.body), next }, {}, true);
    },
    /** Logs out through the console's header form. */
    async logout() {
      const page = await this.get('/console');
      return this.post('/logout', { _csrf: formCsrf(page.body) }, {}, true);
    },
    csrfOf: metaCsrf,
  };
}
