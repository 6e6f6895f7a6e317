import type { Result } from '../lib.ts';
export async function scalingScenario(): Promise<Result[]> {
  return [];
}
