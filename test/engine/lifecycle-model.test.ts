// The whole lifecycle against a reference model (test/helpers/lifecycle-model.ts): random sequences
// of create, edit, submit, decisions (approve, reject: veto and revoke, changed decisions), withdraw,
// reopen, close, apply in every mode, rollback with and without force, drift by other change-sets,
// deactivated principals and auto_apply, on both databases. After every step each change-set's
// status, approvals counted, items, every target's versions and history, and the audit chains must
// be what the model says. A failure is shrunk to a minimal sequence and printed with its seed.
//
// `npm test` runs a fixed seed; `npm run test:model -- --runs N [--seed S]` explores further
// (MODEL_RUNS, MODEL_SEED). Figures of a long run: docs/reliability.md.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Principal } from '../../src/core/types.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../src/engine/engine-config.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend } from '../helpers/backends.js';
import { CAST, commands, freshRun, REGRESSIONS, stats } from '../helpers/lifecycle-commands.js';
import { LEVELS } from '../helpers/lifecycle-model.js';

const RUNS = Number(process.env['MODEL_RUNS'] ?? 50);
const SEED = Number(process.env['MODEL_SEED'] ?? 20);
const MAX_COMMANDS = Number(process.env['MODEL_MAX_COMMANDS'] ?? 40);
/** The `path` fast-check prints with a failure: with its seed, replays exactly that sequence. */
const PATH = process.env['MODEL_PATH'];
/** MODEL_REGRESSIONS=0 leaves the regression sequences out: random search (and its shrinking) alone. */
const EXAMPLES = process.env['MODEL_REGRESSIONS'] === '0' ? [] : REGRESSIONS;

/**
 * The configuration the model is written for (docs/design.md, "How the model test works"), pinned
 * here rather than taken from the defaults, so that a changed default cannot change what the model
 * checks: lower risk level thresholds than the defaults (0, 1 and 2 required approvals all occur);
 * no policies; decisions without content_hash allowed; earned trust in `shadow`, which shows what
 * the agent's record would change and changes nothing (docs/trust.md) — the model has no trust,
 * so any effect of it fails the run. Trust in `enforce` is test/engine/trust.model.test.ts's.
 */
const MODEL_CONFIG: EngineConfig = {
  ...DEFAULT_ENGINE_CONFIG,
  risk: { ...DEFAULT_ENGINE_CONFIG.risk, levels: LEVELS },
  policies: [],
  approval: { ...DEFAULT_ENGINE_CONFIG.approval, require_content_hash: false },
  trust: { ...DEFAULT_ENGINE_CONFIG.trust, mode: 'shadow' },
};

describeEachBackend('lifecycle model', (backend) => {
  let db: Db;
  let engine: Engine;
  const who = new Map<string, Principal>();
  let runs = 0;
  let steps = 0;

  beforeAll(async () => {
    db = await backend.open();
    engine = new Engine({ db, config: MODEL_CONFIG });
    for (const member of CAST) {
      const { principal } = await engine.createPrincipal(
        null,
        {
          id: member.id,
          kind: member.id.startsWith('Agent') || member.id === 'drifter' ? 'agent' : 'human',
          display_name: member.id,
          email: null,
          slack_id: null,
          groups: member.groups,
          risk: member.risk,
          active: true,
        },
        { withToken: false },
      );
      who.set(member.id, principal);
    }
  });
  afterAll(() => db.close());

  it(
    `agrees with the model over ${RUNS} runs of up to ${MAX_COMMANDS} actions (seed ${SEED})`,
    async () => {
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: MAX_COMMANDS, size: 'max' }), async (cmds) => {
          const run = `r${++runs}`;
          const setup = await freshRun(engine, who, run);
          await fc.asyncModelRun(() => setup, cmds);
          steps += [...cmds].length;
          if (process.env['MODEL_TRACE']) console.log(`${run}: ${String(cmds)}`);
        }),
        {
          numRuns: RUNS,
          seed: SEED,
          examples: EXAMPLES.map((sequence): [typeof sequence] => [sequence]),
          ...(PATH ? { path: PATH } : {}),
        },
      );
      // Shadow trust had something to change, so the agreement shows it changed nothing.
      if (RUNS >= 50 && !PATH)
        expect(stats.get('(create whose approvals trust in enforce would have changed)') ?? 0).toBeGreaterThan(0);
      const verified = await engine.verifyAudit();
      expect(verified).toMatchObject({ ok: true });
      console.log(
        `lifecycle model [${backend.name}]: ${RUNS} runs, ${runs} sequences tried, ${steps} actions, ` +
          `${verified.entries} audit entries verified, ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
          [...stats]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, n]) => `  ${k}: ${n}`)
            .join('\n'),
      );
    },
    Math.max(600_000, RUNS * 5_000),
  );
});
