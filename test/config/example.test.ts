import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';

describe('the example config shipped in the repository', () => {
  it('is valid', () => {
    const config = loadConfig(join(import.meta.dirname, '../../invitebus.config.example.json'));
    expect(Object.keys(config.accounts)).toEqual(['acme-uptime']);
  });
});
