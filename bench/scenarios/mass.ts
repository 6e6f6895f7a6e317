import type { Result } from '../lib.ts';
export async function massScenario(): Promise<Result[]> {
  return [];
}
