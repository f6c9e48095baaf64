// The first admin: principal `admin` (group admin) with CHANGELEDGER_ADMIN_TOKEN, or else a token
// generated once into <data dir>/admin-token (mode 0600) so that a fresh install can be used at once.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_GROUP } from '../core/approvals.js';
import { LedgerError } from '../core/errors.js';
import { isUniqueViolation } from '../store/errors.js';
import type { Engine } from './engine.js';
import { hashToken } from './principals.js';

const ADMIN_ID = 'admin';

export interface BootstrapResult {
  /** Where the admin token comes from. */
  source: 'environment' | 'file';
  /** The token file, when the token is kept in one. */
  path: string | null;
  created: boolean;
}

async function ensureAdminPrincipal(engine: Engine): Promise<void> {
  if (await engine.principal(ADMIN_ID)) return;
  try {
    await engine.createPrincipal(
      null,
      {
        id: ADMIN_ID,
        kind: 'human',
        display_name: 'Administrator',
        email: null,
        slack_id: null,
        groups: [ADMIN_GROUP],
        risk: null,
        active: true,
      },
      { withToken: false },
    );
  } catch (error) {
    // Another instance created it at the same moment.
    if (!(error instanceof LedgerError && error.code === 'DUPLICATE')) throw error;
  }
}

async function ensureToken(engine: Engine, token: string, name: string): Promise<boolean> {
  const { rows } = await engine.db.query('SELECT 1 FROM tokens WHERE token_hash = $1', [hashToken(token)]);
  if (rows.length > 0) return false;
  try {
    await engine.issueToken(null, ADMIN_ID, name, token);
  } catch (error) {
    // Another instance, started with the same token, issued it at the same moment.
    if (isUniqueViolation(error)) return false;
    throw error;
  }
  return true;
}

export async function bootstrapAdmin(
  engine: Engine,
  options: { envToken: string | null; dataDir: string },
): Promise<BootstrapResult> {
  await ensureAdminPrincipal(engine);
  if (options.envToken) {
    const created = await ensureToken(engine, options.envToken, 'bootstrap (CHANGELEDGER_ADMIN_TOKEN)');
    return { source: 'environment', path: null, created };
  }
  const path = join(options.dataDir, 'admin-token');
  if (existsSync(path)) {
    const created = await ensureToken(engine, readFileSync(path, 'utf8').trim(), 'bootstrap (admin-token file)');
    return { source: 'file', path, created };
  }
  const issued = await engine.issueToken(null, ADMIN_ID, 'bootstrap (admin-token file)');
  mkdirSync(options.dataDir, { recursive: true });
  writeFileSync(path, `${issued.token}\n`, { mode: 0o600 });
  return { source: 'file', path, created: true };
}
