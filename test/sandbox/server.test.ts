/** A fake provider left running (the `sandbox` command) remembers a bounded number of requests. */
import { describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/index.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';

describe('fake provider memory', () => {
  it('keeps only the latest requests when bounded, and still counts what is in flight', async () => {
    const fake = await startFakeServer(() => ({ status: 200, body: {} }), { keepRequests: 10 });
    try {
      for (let i = 0; i < 35; i++) await fetch(`${fake.url}/r${i}`);
      expect(fake.requests.length).toBeLessThanOrEqual(10);
      expect(fake.requests.at(-1)?.path).toBe('/r34');
      expect(fake.inFlight()).toBe(0);
    } finally {
      await fake.close();
    }
  });

  it('the sandbox bounds every fake', async () => {
    const sandbox = await startSandbox({ keepRequests: 3 });
    try {
      for (let i = 0; i < 8; i++) await fetch(`${sandbox.servers.sutro.url}/x`);
      expect(sandbox.servers.sutro.requests.length).toBeLessThanOrEqual(3);
    } finally {
      await sandbox.close();
    }
  });
});
