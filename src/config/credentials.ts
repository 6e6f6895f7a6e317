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
    const read = readSecret(ref, env, baseDir);
    if ('value' in read) values[key] = read.value;
    else if ('env' in ref) problems.push(`account '${account}' has no credentials.${key}: ${read.problem}`);
    else problems.push(`account '${account}' credentials.${key}: ${read.problem}`);
  }
  return { values, problems };
}

/**
 * Reads one secret from where its reference points: the value, or what is wrong and how to fix it ("set the
 * environment variable X", "cannot read file P (ENOENT)"). File paths are relative to `baseDir`.
 */
export function readSecret(ref: CredentialRef, env: NodeJS.ProcessEnv, baseDir: string): { value: string } | { problem: string } {
  if ('env' in ref) {
    const value = env[ref.env];
    return value === undefined || value.trim() === '' ? { problem: `set the environment variable ${ref.env}` } : { value: value.trim() };
  }
  const path = isAbsolute(ref.file) ? ref.file : resolve(baseDir, ref.file);
  try {
    const value = readFileSync(path, 'utf8').trim();
    return value === '' ? { problem: `file ${path} is empty` } : { value };
  } catch (error) {
    return { problem: `cannot read file ${path} (${(error as { code?: string }).code ?? 'error'})` };
  }
}
