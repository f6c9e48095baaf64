// The typed client's committed OpenAPI document and types are what the routes produce now: a route
// schema changed without `npm run generate:client` fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateClientFiles, OPENAPI_FILE, SCHEMA_FILE } from '../../scripts/generate-client.js';

describe('the generated client files', () => {
  it('match a fresh generation (run npm run generate:client)', { timeout: 180_000 }, async () => {
    const fresh = await generateClientFiles();
    expect(
      readFileSync(OPENAPI_FILE, 'utf8') === fresh.openapi,
      `${OPENAPI_FILE} is stale: run npm run generate:client`,
    ).toBe(true);
    expect(
      readFileSync(SCHEMA_FILE, 'utf8') === fresh.schema,
      `${SCHEMA_FILE} is stale: run npm run generate:client`,
    ).toBe(true);
    expect(fresh.schema).toContain('"/api/ledger/changesets/{id}/approve"');
  });
});
