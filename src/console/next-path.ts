/**
 * Where a browser goes after logging in. The value comes from a link anyone can write (/login?next=…), so it is
 * judged the way the browser will read it: parsed as a URL (which drops tabs and newlines, turns backslashes
 * into slashes and resolves dot segments) against a stand-in origin, and kept only if it stays on that origin.
 * The path sent back is the parsed one, checked again, so the Location header can never mean anything else.
 */

/** A stand-in for this server's origin: only "is it still the same origin" matters. */
const HERE = new URL('http://invitebus.invalid');
const MAX_LENGTH = 2_048;

/** The same-origin path (with query and fragment) that `value` leads to, or `fallback` for anything else. */
export function safeNextPath(value: unknown, fallback = '/console'): string {
  // Only an absolute path: no scheme (javascript:, data:), no leading space or backslash, nothing relative.
  if (typeof value !== 'string' || value.length > MAX_LENGTH || !value.startsWith('/')) return fallback;
  let url: URL;
  try {
    url = new URL(value, HERE);
  } catch {
    return fallback;
  }
  if (url.origin !== HERE.origin) return fallback;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // "/x/..//host" parses to the path "//host": harmless as given, a protocol-relative URL once sent back alone.
  if (!path.startsWith('/') || path.startsWith('//')) return fallback;
  return new URL(path, HERE).origin === HERE.origin ? path : fallback;
}
