import type { Outcome } from '../../types.ts';
import { AccountHeld } from '../http.ts';

/**
 * Stellas's member list (`GET /clients/members?page=N&limit=L`), as an index of lower-cased addresses. Stellas
 * answers a repeated or refused invite alike (`status: false`, "do not branch on the message"), so the list is
 * what tells "already a member" from "refused".
 *
 * The list's shape is not published in full: `data` may be the array or an object holding it under `members`,
 * `items`, `rows` or `data`; the pagination fields (`hasNextPage`, `nextPage`, `page`, `total`) may sit beside the
 * array, in a `pagination` or `meta` object, inside `data` or at the top. `memberPage` reads any of them.
 */

/** One page as read: its addresses (undefined when no list could be found) and what it says about the rest. */
export interface MemberPage {
  emails: string[] | undefined;
  hasNext?: boolean;
  nextPage?: number;
  total?: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const LIST_KEYS = ['members', 'items', 'rows', 'data', 'results'] as const;

export function memberPage(body: unknown): MemberPage {
  const top = isObj(body) ? body : {};
  const data = top.data;
  let list: unknown[] | undefined;
  if (Array.isArray(data)) list = data;
  else if (isObj(data)) list = LIST_KEYS.map((k) => data[k]).find(Array.isArray);
  const emails = list
    ?.map((m) => (isObj(m) && typeof m.email === 'string' ? m.email.trim().toLowerCase() : undefined))
    .filter((e): e is string => e !== undefined);
  // Where pagination may sit, nearest first.
  const places = [isObj(data) ? data.pagination : undefined, isObj(data) ? data.meta : undefined, data, top.pagination, top.meta, top].filter(isObj);
  const pick = (key: string) => places.map((p) => p[key]).find((v) => v !== undefined);
  const page: MemberPage = { emails };
  const hasNext = pick('hasNextPage') ?? pick('hasNext');
  if (typeof hasNext === 'boolean') page.hasNext = hasNext;
  const nextPage = pick('nextPage');
  if (typeof nextPage === 'number') page.nextPage = nextPage;
  else if (nextPage === null && page.hasNext === undefined) page.hasNext = false;
  const total = pick('total') ?? pick('totalCount') ?? pick('totalItems');
  if (typeof total === 'number') page.total = total;
  return page;
}

export interface MemberIndexOptions {
  /** The page size asked first (the largest the API accepts); 10, the documented one, if it is refused. */
  pageSize: number;
  /** A miss rebuilds the index at most this often. */
  refreshMs: number;
  /** At most this many addresses are kept; a longer list is scanned for the one address instead. */
  maxIndexed: number;
}

/** Fetches one page: the answer's JSON body, or an outcome when the call failed (network, 5xx, 429, 401). */
export type FetchPage = (page: number, limit: number) => Promise<{ status: number; json: unknown } | Outcome>;

const DOCUMENTED_PAGE_SIZE = 10;
/** A list that never ends (a broken nextPage) must not page forever. */
const MAX_PAGES = 10_000;

class LookupFailed extends Error {
  readonly outcome: Outcome;
  constructor(outcome: Outcome) {
    super(outcome.message ?? 'member lookup failed');
    this.outcome = outcome;
  }
}

interface Index {
  emails: Set<string>;
  /** False when the list was longer than maxIndexed: a miss then needs a scan. */
  complete: boolean;
  builtAt: number;
}

/**
 * One account's member index, shared by its concurrent jobs: built on first use (single flight), rebuilt on a
 * miss at most once per `refreshMs`, bounded by `maxIndexed`. `isMember` answers true/false, or the outcome that
 * stopped the lookup (always a transient one: a failed lookup never makes an invite `rejected`).
 */
export function createMemberIndex(fetchPage: FetchPage, options: MemberIndexOptions, now: () => number = Date.now) {
  let index: Index | undefined;
  let building: Promise<Index> | undefined;
  let pageSize = options.pageSize;

  /** Walks the list page by page; `visit` returns true to stop early. */
  async function walk(visit: (emails: string[]) => boolean): Promise<boolean> {
    let page = 1;
    for (let n = 0; n < MAX_PAGES; n++) {
      const res = await fetchPage(page, pageSize);
      if (!('json' in res)) throw new LookupFailed(res);
      if ((res.status === 400 || res.status === 422) && page === 1 && pageSize > DOCUMENTED_PAGE_SIZE) {
        pageSize = DOCUMENTED_PAGE_SIZE; // the largest page was refused: ask for the documented one
        continue;
      }
      const parsed = memberPage(res.json);
      const ok = res.status >= 200 && res.status < 300 && !(isObj(res.json) && res.json.status === false);
      if (!ok || parsed.emails === undefined) {
        throw new LookupFailed({ kind: 'retryable', status: res.status, message: `Stellas member list unreadable (HTTP ${res.status})` });
      }
      if (visit(parsed.emails)) return true;
      const seen = page * pageSize;
      const more =
        parsed.emails.length > 0 &&
        (parsed.hasNext ?? (parsed.nextPage !== undefined ? true : parsed.total !== undefined ? seen < parsed.total : parsed.emails.length >= pageSize));
      if (!more) return false;
      page = parsed.nextPage !== undefined && parsed.nextPage > page ? parsed.nextPage : page + 1;
    }
    return false;
  }

  function build(): Promise<Index> {
    if (building === undefined) {
      const attempt = (async () => {
        const emails = new Set<string>();
        let complete = true;
        await walk((page) => {
          for (const e of page) {
            if (emails.size >= options.maxIndexed) {
              complete = false;
              return true;
            }
            emails.add(e);
          }
          return false;
        });
        return { emails, complete, builtAt: now() };
      })();
      building = attempt;
      // Both branches handled here, so a failed build is never an unhandled rejection; callers get it too.
      const done = () => {
        if (building === attempt) building = undefined;
      };
      attempt.then((built) => {
        index = built;
        done();
      }, done);
    }
    return building;
  }

  async function isMember(email: string): Promise<boolean | Outcome> {
    const wanted = email.trim().toLowerCase();
    try {
      let current = index ?? (await build());
      if (current.emails.has(wanted)) return true;
      if (now() - current.builtAt >= options.refreshMs) {
        current = await build();
        if (current.emails.has(wanted)) return true;
      }
      if (current.complete) return false;
      return await walk((page) => page.includes(wanted));
    } catch (error) {
      if (error instanceof AccountHeld) throw error;
      if (error instanceof LookupFailed) return transient(error.outcome);
      return { kind: 'retryable', message: `Stellas member lookup failed: ${(error as Error).message}` };
    }
  }

  return { isMember };
}

/** A lookup's failure as the invite's outcome: transient kinds pass through, anything else becomes retryable. */
function transient(outcome: Outcome): Outcome {
  if (outcome.kind === 'retryable' || outcome.kind === 'rate_limited' || outcome.kind === 'auth_failed') return outcome;
  return {
    kind: 'retryable',
    ...(outcome.status === undefined ? {} : { status: outcome.status }),
    message: `Stellas member lookup failed: ${outcome.message ?? ''}`,
  };
}
