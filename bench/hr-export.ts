/**
 * An HR-like CSV export for the big-file scenarios: one row per person with the columns an HR system exports
 * (names, employee id, department, title, start date) beside `email` and `profile`, about
 * 70 bytes a row (705,000 rows ≈ 50 MB, as in issue 20). Written streamed, so it can be any size.
 * Standalone: `node bench/hr-export.ts FILE ROWS [PROFILE]`.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

const DEPARTMENTS = ['Engineering', 'Finance', 'Sales', 'Support', 'Operations', 'Legal', 'People'];
const TITLES = ['Engineer', 'Analyst', 'Manager', 'Associate', 'Lead', 'Specialist'];

/** Writes `rows` people to `path`; every row names `profile` (the onboarding's tools). Returns the bytes written. */
export async function writeHrCsv(path: string, rows: number, profile = 'staff'): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  await write('email,firstName,lastName,employeeId,department,title,startDate,profile\n');
  let block = '';
  for (let i = 0; i < rows; i++) {
    const d = DEPARTMENTS[i % DEPARTMENTS.length];
    block += `person${i}@example.com,Ann${i % 997},Lee${i % 9973},E${100000 + i},${d},${TITLES[i % TITLES.length]},2025-0${1 + (i % 9)}-1${i % 10},${profile}\n`;
    if (block.length > 64_000) {
      await write(block);
      block = '';
    }
  }
  await write(block);
  out.end();
  await once(out, 'finish');
  return bytes;
}

if (import.meta.main) {
  const [path = 'hr.csv', rows = '705000', profile = 'staff'] = process.argv.slice(2);
  const bytes = await writeHrCsv(path, Number(rows), profile);
  console.log(`${path}: ${rows} rows, ${(bytes / 1e6).toFixed(1)} MB`);
}
