import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';

const path = join(import.meta.dirname, '../../invitebus.config.example.json');

describe('the example config shipped in the repository', () => {
  it('is valid', () => {
    const config = loadConfig(path);
    expect(Object.keys(config.accounts)).toEqual(['acme-uptime']);
    expect(Object.keys(config.profiles)).toEqual(['engineering', 'on-call']);
  });

  it('shows every top-level key the config takes (docs/configuration.md says it holds every key)', () => {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(raw).sort()).toEqual(Object.keys(configSchema.shape).sort());
  });
});
