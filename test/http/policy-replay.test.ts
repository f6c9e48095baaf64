// Replay of a candidate configuration against a crafted history (POST /api/ledger/policies/replay
// and `changeledger policy replay`), and who sees the shadow report of GET /api/ledger/policies.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { candidateEngineConfig, engineConfigOf, parseConfig } from '../../src/config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrator.js';
import { openPgliteDb } from '../../src/store/pglite-db.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';
import { run } from '../helpers/run-cli.js';

const HOOK_TIMEOUT = 240_000;

/** What the history was recorded under: the defaults, and one shadow policy. */
const RECORDED = {
  policies: [
    {
      name: 'watch-security',
      condition: 'items.exists(i, i.target_id.startsWith("security."))',
      effect: 'deny',
      mode: 'shadow',
    },
  ],
};

/** Trusts Agent-D and config updates more, and denies security targets at create. */
const CANDIDATE = {
  agents: { 'Agent-A': 15, 'Agent-D': 10 },
  risk: { scope: { categories: { UI_LAYOUT: 15, API_CHANGE: 35, CONFIG_UPDATE: 10, DESIGN_SYSTEM: 20 } } },
  policies: [
    {
      name: 'no-security-targets',
      actions: ['create'],
      condition: 'items.exists(i, i.target_id.startsWith("security."))',
      effect: 'deny',
    },
    { name: 'freeze-everything', condition: 'true', effect: 'deny', mode: 'shadow' },
  ],
};

/**
 * The crafted history: an auto-approved button (no difference), two config changes that needed one
 * approval (the candidate auto-approves them; the second was rolled back) and a change to a security
 * target (the candidate denies it at create).
 */
async function recordHistory(f: Fixture): Promise<Record<string, string>> {
  const { engine, p } = f;
  const button = await engine.create(p['Agent-A']!, uiButton({ change_set_id: 'CS-BUTTON' }));
  const config = await engine.create(p['Agent-D']!, configChange('config.a', { change_set_id: 'CS-CONFIG' }));
  await engine.submit(p['Agent-D']!, config.change_set_id);
  const undone = await engine.create(p['Agent-D']!, configChange('config.b', { change_set_id: 'CS-UNDONE' }));
  await engine.submit(p['Agent-D']!, undone.change_set_id);
  f.clock.advance(60_000);
  const pending = await engine.get(undone.change_set_id);
  await engine.decide(p['alice']!, undone.change_set_id, { decision: 'APPROVED', content_hash: pending.content_hash });
  await engine.apply(p['Agent-D']!, undone.change_set_id, {});
  f.clock.advance(60_000);
  await engine.rollback(p['Agent-D']!, undone.change_set_id, { reason: 'broke the build' });
  const security = await engine.create(p['Agent-D']!, configChange('security.mfa', { change_set_id: 'CS-SECURITY' }));
  return { button: button.change_set_id, config: config.change_set_id, security: security.change_set_id };
}

/** Every table's row count and the audit trail's last entry: what "writes nothing" compares. */
async function snapshot(db: Db): Promise<Record<string, unknown>> {
  const { rows: tables } = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const counts: Record<string, unknown> = {};
  for (const { name } of tables) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${name}"`);
    counts[name] = rows[0]?.n;
  }
  const head = await db.query('SELECT max(seq) AS seq, max(hash) AS hash FROM audit_entries');
  const heads = await db.query('SELECT * FROM audit_heads ORDER BY 1');
  return { counts, head: head.rows, heads: heads.rows };
}

describeEachBackend('POST /api/ledger/policies/replay', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    const config = engineConfigOf(parseConfig(stringify(RECORDED), { env: {} }));
    f = await makeFixture(await backend.open(), config);
    app = await buildApp({ engine: f.engine, candidateConfig: candidateEngineConfig });
    for (const id of ['Agent-D', 'root']) tokens[id] = (await f.engine.issueToken(null, id)).token;
    await recordHistory(f);
  }, HOOK_TIMEOUT);
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });
  const replay = (who: string, payload: unknown) =>
    app.inject({
      method: 'POST',
      url: '/api/ledger/policies/replay',
      headers: { authorization: `Bearer ${tokens[who]}` },
      payload: payload as object,
    });

  it('reports per change-set what the candidate would change, with totals, and writes nothing', async () => {
    const before = await snapshot(f.db);
    const response = await replay('root', { config: stringify(CANDIDATE), since: '30d' });
    expect(response.statusCode).toBe(200);
    const result = response.json();
    expect(result.policies).toEqual(['no-security-targets']);
    expect(result.totals).toEqual({
      replayed: 4,
      changed: 3,
      risk_level: { raised: 0, lowered: 0 },
      auto_approved: { more: 2, fewer: 0, more_later_rolled_back: 1 },
      required_approvals: { more: 0, fewer: 2 },
      denied: { more: 1, fewer: 0, other_action: 0 },
    });
    expect(result.summary).toBe(
      '3 of 4 change-sets would differ: 2 more auto-approved, 1 of them later rolled back; 1 would have been denied; ' +
        'fewer approvals required for 2',
    );
    const byId = Object.fromEntries(result.differences.map((d: { change_set_id: string }) => [d.change_set_id, d]));
    expect(Object.keys(byId).sort()).toEqual(['CS-CONFIG', 'CS-SECURITY', 'CS-UNDONE']);
    expect(byId['CS-CONFIG']).toMatchObject({
      path: '/api/ledger/changesets/CS-CONFIG',
      status: 'PENDING_APPROVAL',
      rolled_back: false,
      differs: ['auto_approved', 'required_approvals'],
      recorded: { risk_level: 'LOW', auto_approved: false, required_approvals: 1, denied: null },
      candidate: { risk_level: 'LOW', auto_approved: true, required_approvals: 0, denied: null },
    });
    expect(byId['CS-UNDONE']).toMatchObject({ status: 'ROLLED_BACK', rolled_back: true });
    expect(byId['CS-SECURITY']).toMatchObject({
      differs: ['denied'],
      recorded: { denied: null },
      candidate: { denied: { action: 'create', policies: ['no-security-targets'] } },
    });
    expect(await snapshot(f.db)).toEqual(before);
  });

  it("judges the candidate's shadow policies as enforced when asked", async () => {
    const response = await replay('root', { config: CANDIDATE, enforce_shadow: true });
    expect(response.statusCode).toBe(200);
    const result = response.json();
    expect(result.policies).toEqual(['no-security-targets', 'freeze-everything']);
    expect(result.totals.denied.more).toBe(4);
    expect(result.totals.changed).toBe(4);
  });

  it('lists at most `limit` differences, the totals counting them all', async () => {
    const result = (await replay('root', { config: CANDIDATE, limit: 1 })).json();
    expect(result.differences).toHaveLength(1);
    expect(result.truncated).toBe(true);
    expect(result.totals.changed).toBe(3);
  });

  it('finds nothing to change when the candidate is the recorded configuration', async () => {
    const result = (await replay('root', { config: RECORDED })).json();
    expect(result.totals).toMatchObject({ replayed: 4, changed: 0 });
    expect(result.summary).toBe('4 change-sets replayed: nothing would differ');
  });

  it('refuses a candidate the configuration schema refuses, naming each path, and stores nothing', async () => {
    const before = await snapshot(f.db);
    const broken = {
      risk: { weights: { operation: 2 } },
      policies: [
        { name: 'bad', condition: 'items.exists(', effect: 'deny' },
        { name: 'odd', condition: 'true', effect: 'deny', mode: 'later' },
      ],
    };
    const response = await replay('root', { config: stringify(broken) });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.code).toBe('VALIDATION_FAILED');
    const paths = body.details.map((d: { path: string }) => d.path);
    expect(paths).toContain('policies[1].mode');
    const again = await replay('root', { config: { risk: { weights: { operation: 2 } } } });
    expect(again.json().details.map((d: { path: string }) => d.path)).toContain('risk.weights.operation');
    const policy = await replay('root', { config: { policies: [broken.policies[0]] } });
    expect(policy.json().details).toEqual([expect.objectContaining({ path: 'policies[0].condition' })]);
    expect(await snapshot(f.db)).toEqual(before);
  });

  it('refuses an unreadable window, an environment reference and a stranger in the body with 400', async () => {
    const since = await replay('root', { config: CANDIDATE, since: 'last week' });
    expect(since.statusCode).toBe(400);
    expect(since.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'since' }] });
    const env = await replay('root', { config: `database:\n  url: \${DATABASE_URL}\n` });
    expect(env.statusCode).toBe(400);
    const extra = await replay('root', { config: CANDIDATE, dry: true });
    expect(extra.statusCode).toBe(400);
  });

  it('is for admins: an agent gets 403 and learns nothing', async () => {
    const response = await replay('Agent-D', { config: CANDIDATE });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect(JSON.stringify(response.json())).not.toContain('CS-');
  });

  it('shows the shadow policy and its report to admins only', async () => {
    const get = (who: string, query = '') =>
      app.inject({
        method: 'GET',
        url: `/api/ledger/policies${query}`,
        headers: { authorization: `Bearer ${tokens[who]}` },
      });
    const agent = (await get('Agent-D')).json();
    expect(agent).toEqual({ since: null, data: [] });
    const admin = (await get('root')).json();
    expect(admin.since).toBe('2026-10-26T10:02:00.000Z');
    expect(admin.data).toEqual([
      expect.objectContaining({
        name: 'watch-security',
        mode: 'shadow',
        shadow: expect.objectContaining({
          evaluated: 8,
          matched: 1,
          would: { deny: 1, require_approval: 0, warn: 0 },
          recent: [
            expect.objectContaining({ change_set_id: 'CS-SECURITY', path: '/api/ledger/changesets/CS-SECURITY' }),
          ],
        }),
      }),
    ]);
    const bad = await get('root', '?since=yesterday');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'since' }] });
  });
});

describe('changeledger policy replay', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'changeledger-replay-'));
    // Where the server keeps its PGlite database under database.data_dir.
    const db = await openPgliteDb({ dataDir: join(dir, 'data', 'db') });
    await migrate(db);
    const f = await makeFixture(db, engineConfigOf(parseConfig(stringify(RECORDED), { env: {} })));
    await recordHistory(f);
    await db.close();
  }, HOOK_TIMEOUT);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const candidateFile = async (config: object) => {
    const file = join(dir, 'candidate.yaml');
    await writeFile(file, stringify({ ...config, database: { data_dir: join(dir, 'data') } }));
    return file;
  };

  it('prints the summary and a table of what would differ', async () => {
    const file = await candidateFile(CANDIDATE);
    const result = await run(['--config', file, 'policy', 'replay', '--since', '2026-01-01T00:00:00Z']);
    expect(result).toMatchObject({ code: 0, err: '' });
    const lines = result.out.split('\n');
    expect(lines[0]).toMatch(/^replayed 4 change-sets created 2026-01-01T00:00:00.000Z \.\. /);
    expect(lines[1]).toBe('policies judged: no-security-targets');
    expect(result.out).toContain(
      '3 of 4 change-sets would differ: 2 more auto-approved, 1 of them later rolled back; 1 would have been denied',
    );
    expect(result.out).toMatch(/^CHANGE-SET +STATUS +DIFFERS +RECORDED +CANDIDATE$/m);
    expect(result.out).toMatch(
      /^CS-UNDONE +ROLLED_BACK +auto_approved, required_approvals +LOW \d+, 1 approval +LOW \d+, auto-approved$/m,
    );
    expect(result.out).toMatch(/^CS-SECURITY .* +denied at create by no-security-targets$/m);
    const json = JSON.parse(
      (await run(['--config', file, 'policy', 'replay', '--since', '2026-01-01T00:00:00Z', '--json'])).out,
    );
    expect(json.totals.changed).toBe(3);
  });

  it('says what is wrong with the configuration, naming the path', async () => {
    const file = await candidateFile({ policies: [{ name: 'bad', condition: 'items.exists(', effect: 'deny' }] });
    const result = await run(['--config', file, 'policy', 'replay']);
    expect(result.code).toBe(1);
    expect(result.err).toContain('policies[0].condition');
  });
});
