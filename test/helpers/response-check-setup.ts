// Every test file checks the API's answers against the API document (src/http/response-check.ts):
// apps built in this process and servers this file starts (their environment is inherited) record
// each mismatch in a directory of the file's own, and the file fails at the end when any was
// recorded, with the method, route, status and what is wrong.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { CHECK_RESPONSES_ENV } from '../../src/http/response-check.js';

const dir = mkdtempSync(join(tmpdir(), 'changeledger-responses-'));
process.env[CHECK_RESPONSES_ENV] = dir;

/** The mismatches recorded in `directory`, one line each. */
export function recordedMismatches(directory: string): string[] {
  return readdirSync(directory).flatMap((name) =>
    readFileSync(join(directory, name), 'utf8')
      .split('\n')
      .filter((line) => line.length > 0),
  );
}

afterAll(() => {
  const found = recordedMismatches(dir);
  rmSync(dir, { recursive: true, force: true });
  if (found.length > 0)
    throw new Error(
      `${found.length} answers do not match the API document (/api/ledger/openapi.json):\n${[...new Set(found)].join('\n')}`,
    );
});
