import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

/**
 * Where a secret lives: an environment variable or a file. Never the secret itself: the config file is
 * shared, checked in and printed; secrets are not.
 */
export const credentialRef = z.union(
  [z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') }), z.strictObject({ file: z.string().min(1) })],
  {
    error: (issue) =>
      typeof issue.input === 'string'
        ? 'a literal secret is not allowed in the config file: use { "env": "NAME" } or { "file": "/path" }'
        : 'must be { "env": "NAME" } or { "file": "/path" }',
  },
);
export type CredentialRef = z.infer<typeof credentialRef>;

/**
 * Reads every credential of an account. Returns the values or the list of what is missing, each with
 * the fix. File paths are relative to the config file's directory.
 */
export function resolveCredentials(
  account: string,
  refs: Record<string, CredentialRef>,
  env: NodeJS.ProcessEnv,
  baseDir: string,
): { values: Record<string, string>; problems: string[] } {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  for (const [key, ref] of Object.entries(refs)) {
    if ('env' in ref) {
      const value = env[ref.env];
      if (value === undefined || value.trim() === '') {
        problems.push(`account '${account}' has no credentials.${key}: set the environment variable ${ref.env}`);
      } else {
        values[key] = value.trim();
      }
      continue;
    }
    const path = isAbsolute(ref.file) ? ref.file : resolve(baseDir, ref.file);
    try {
      const value = readFileSync(path, 'utf8').trim();
      if (value === '') problems.push(`account '${account}' credentials.${key}: file ${path} is empty`);
      else values[key] = value;
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'error';
      problems.push(`account '${account}' credentials.${key}: cannot read file ${path} (${code})`);
    }
  }
  return { values, problems };
}
