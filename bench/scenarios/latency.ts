import type { Result } from '../lib.ts';
export async function latencyScenario(): Promise<Result[]> {
  return [];
}
