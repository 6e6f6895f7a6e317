/**
 * Text from outside (provider messages, receivers' answers) made safe for an operator's terminal. A message such
 * as "\x1b]8;;http://evil\x07click\x1b]8;;\x07" or "\x1b[2J" would otherwise draw a link, clear the screen,
 * retitle the window or rewrite lines above when `find` or `report` prints it.
 */
import { stripVTControlCharacters } from 'node:util';

/** C0 controls but tab and newline, DEL, and C1 controls (U+0080–U+009F, which some terminals obey too). */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** What JSON.stringify leaves raw of those: DEL and C1. */
const RAW_IN_JSON = /[\u007f-\u009f]/g;

/** `text` without escape sequences (CSI, OSC, …, whole) and without any other control character but tab and newline. */
export function terminalText(text: string): string {
  return stripVTControlCharacters(text).replace(CONTROLS, '');
}

/**
 * One JSON line that keeps every character of the data yet cannot act on a terminal: JSON.stringify already
 * escapes C0 controls; DEL and C1 get \u escapes too.
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value).replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A record (or list, nested) with every string made terminal-safe: for CSV, whose cell rules (quoting, the
 * leading-character formula guard) must see the text as it will be printed.
 */
export function terminalValues<T>(value: T): T {
  if (typeof value === 'string') return terminalText(value) as T;
  if (Array.isArray(value)) return value.map((v) => terminalValues(v)) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, terminalValues(v)])) as T;
  return value;
}
