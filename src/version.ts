import { readFileSync } from 'node:fs';

/** invitebus's version, read once from package.json: the one place it is written. */
export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
