// The track record and earned trust against a reference model written from docs/trust.md (not
// from the code): random sequences of clean applies, failed applies, rollbacks, vetoes and days
// passing, for a fresh agent per sequence. After every step the agent's record (counts per window),
// its trust (applied, failures, clean streak, adjustment), the trust factor of its next change-set
// and the agent.trust_changed events must be what the model says. A failure is shrunk to a minimal
// sequence by fast-check and printed with its seed.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_TRUST_CONFIG } from '../../src/core/trust.js';
import type { Principal } from '../../src/core/types.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend } from '../helpers/backends.js';

const RUNS = Number(process.env['MODEL_RUNS'] ?? 8);
const SEED = Number(process.env['MODEL_SEED'] ?? 15);
const DAY = 86_400_000;

// Small numbers, so that steps, caps and the window are all reached in a short sequence.
const TRUST = {
  ...DEFAULT_TRUST_CONFIG,
  mode: 'enforce' as const,
  window_days: 30,
  min_history: 2,
  credit_step: 3,
  max_credit: 7,
  penalty: 4,
  max_penalty: 10,
  record_windows_days: [7, 30],
};

// ---- The reference model, from docs/trust.md ------------------------------------------------

type Kind = 'proposed' | 'auto_approved' | 'rejected' | 'applied' | 'apply_failed' | 'rolled_back';

interface Model {
  now: number;
  /** Every outcome in the order it happened, with its time (veto: a reviewer's rejection). */
  outcomes: { kind: Kind; at: number; veto: boolean }[];
  /** Applied change-sets not rolled back: their id and target. */
  live: { id: string; target: string }[];
  /** Trust changes announced: [promotion | demotion, credit from, credit to]. */
  changes: [string, number, number][];
}

/** "credit = min(max_credit, credit_step × floor(clean_streak ÷ min_history)); penalty = …; adjustment = penalty − credit" */
function modelTrust(model: Model) {
  const since = model.now - TRUST.window_days * DAY;
  let applied = 0;
  let failures = 0;
  let streak = 0;
  for (const o of model.outcomes) {
    if (o.at < since) continue;
    if (o.kind === 'applied') {
      applied += 1;
      streak += 1;
    } else if (o.kind === 'apply_failed' || o.kind === 'rolled_back') {
      failures += 1;
      streak = 0;
    }
  }
  const credit = Math.min(TRUST.max_credit, TRUST.credit_step * Math.floor(streak / TRUST.min_history));
  const penalty = Math.min(TRUST.max_penalty, TRUST.penalty * failures);
  return { applied, failures, clean_streak: streak, credit, adjustment: penalty - credit };
}

/** Records the outcomes; an apply, failed apply or rollback that moves the credit is a change of trust. */
function happen(model: Model, ...kinds: Kind[]): void {
  for (const kind of kinds) {
    const before = modelTrust(model).credit;
    model.outcomes.push({ kind, at: model.now, veto: false });
    const after = modelTrust(model).credit;
    if (after !== before) model.changes.push([after > before ? 'promotion' : 'demotion', before, after]);
  }
}

function modelCounts(model: Model, days: number | null) {
  const inWindow = model.outcomes.filter((o) => days === null || o.at >= model.now - days * DAY);
  const count = (kind: Kind) => inWindow.filter((o) => o.kind === kind).length;
  return {
    proposed: count('proposed'),
    auto_approved: count('auto_approved'),
    rejected: count('rejected'),
    rejected_by_veto: inWindow.filter((o) => o.veto).length,
    applied: count('applied'),
    apply_failed: count('apply_failed'),
    rolled_back: count('rolled_back'),
  };
}

// ---- The real system ------------------------------------------------------------------------

interface Real {
  engine: Engine;
  db: Db;
  agent: Principal;
  people: { alice: Principal; root: Principal };
  clock: { now: number };
  next: () => string;
}

const button = (real: Real, target: string) => ({
  change_set_id: real.next(),
  title: 'Add a button',
  agent_type: 'UI',
  category: 'UI_LAYOUT',
  items: [{ operation_type: 'CREATE', target_type: 'UI_COMPONENT', target_id: target, after_state: { n: 1 } }],
});

type Command = fc.AsyncCommand<Model, Real>;

class CleanApply implements Command {
  check = () => true;
  async run(model: Model, real: Real) {
    const target = `ui.${real.next()}`;
    const cs = await real.engine.create(real.agent, button(real, target));
    // The trust factor of a new change-set is the model's adjustment.
    expect(cs.risk.trust?.adjustment).toBe(modelTrust(model).adjustment);
    expect(cs.status).toBe('APPROVED');
    happen(model, 'proposed', 'auto_approved');
    const applied = await real.engine.apply(real.agent, cs.id);
    expect(applied.status).toBe('APPLIED');
    happen(model, 'applied');
    model.live.push({ id: cs.id, target });
    await agree(model, real);
  }
  toString = () => 'cleanApply';
}

class FailedApply implements Command {
  check = (model: Readonly<Model>) => model.live.length > 0;
  async run(model: Model, real: Real) {
    // Creating a target that exists fails: the apply changes nothing.
    const target = model.live[0]?.target ?? '';
    const cs = await real.engine.create(real.agent, button(real, target));
    happen(model, 'proposed', 'auto_approved');
    // Refused (409 APPLY_FAILED) after the failure is recorded; the change-set stays APPROVED.
    await expect(real.engine.apply(real.agent, cs.id)).rejects.toMatchObject({ code: 'APPLY_FAILED' });
    expect((await real.engine.get(cs.id)).status).toBe('APPROVED');
    happen(model, 'apply_failed');
    await agree(model, real);
  }
  toString = () => 'failedApply';
}

class Rollback implements Command {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.live.length > 0;
  async run(model: Model, real: Real) {
    const [undone] = model.live.splice(this.pick % model.live.length, 1);
    const result = await real.engine.rollback(real.agent, undone?.id ?? '', { reason: 'model' });
    expect(result.success).toBe(true);
    happen(model, 'rolled_back');
    await agree(model, real);
  }
  toString = () => `rollback(${this.pick})`;
}

class Veto implements Command {
  check = () => true;
  async run(model: Model, real: Real) {
    const cs = await real.engine.create(real.agent, {
      ...button(real, `cfg.${real.next()}`),
      category: 'CONFIG_UPDATE',
      approval_chain: ['alice'],
    });
    await real.engine.submit(real.agent, cs.id);
    await real.engine.decide(real.people.alice, cs.id, { decision: 'REJECTED', reason: 'no' });
    model.outcomes.push({ kind: 'proposed', at: model.now, veto: false });
    model.outcomes.push({ kind: 'rejected', at: model.now, veto: true });
    await agree(model, real);
  }
  toString = () => 'veto';
}

class Wait implements Command {
  constructor(readonly days: number) {}
  check = () => true;
  async run(model: Model, real: Real) {
    model.now += this.days * DAY;
    real.clock.now += this.days * DAY;
    await agree(model, real);
  }
  toString = () => `wait(${this.days}d)`;
}

async function agree(model: Model, real: Real): Promise<void> {
  const record = await real.engine.trackRecord(real.people.root, real.agent.id);
  const trust = modelTrust(model);
  expect(record.trust).toMatchObject(trust);
  for (const [name, days] of [
    ['7d', 7],
    ['30d', 30],
    ['all', null],
  ] as const) {
    expect(record.overall[name], name).toMatchObject(modelCounts(model, days));
  }
  const { rows } = await real.db.query<{ data: { change: string; from: number; to: number } }>(
    `SELECT envelope->'data' AS data FROM outbox_events
     WHERE type = 'agent.trust_changed' AND envelope->'data'->>'agent_id' = $1 ORDER BY id`,
    [real.agent.id],
  );
  expect(rows.map(({ data }) => [data.change, data.from, data.to])).toEqual(model.changes);
}

const commands = [
  fc.constant(new CleanApply()),
  fc.constant(new CleanApply()),
  fc.constant(new FailedApply()),
  fc.nat(5).map((pick) => new Rollback(pick)),
  fc.constant(new Veto()),
  fc.integer({ min: 1, max: 20 }).map((days) => new Wait(days)),
];

describeEachBackend('track record and trust model', (backend) => {
  let db: Db;
  let engine: Engine;
  const clock = { now: Date.parse('2026-06-01T00:00:00.000Z') };
  let alice: Principal;
  let root: Principal;
  let runs = 0;
  let counter = 0;

  beforeAll(async () => {
    db = await backend.open();
    engine = new Engine({
      db,
      config: { ...DEFAULT_ENGINE_CONFIG, trust: TRUST },
      clock: () => new Date(clock.now),
    });
    const person = async (id: string, groups: string[]) =>
      (
        await engine.createPrincipal(
          null,
          { id, kind: 'human', display_name: id, email: null, slack_id: null, groups, risk: null, active: true },
          { withToken: false },
        )
      ).principal;
    alice = await person('alice', []);
    root = await person('root', ['admin']);
  });
  afterAll(() => db.close());

  it(`agrees with the model over ${RUNS} runs (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 25 }), async (cmds) => {
        const id = `agent-${++runs}`;
        const { principal: agent } = await engine.createPrincipal(
          null,
          { id, kind: 'agent', display_name: id, email: null, slack_id: null, groups: [], risk: null, active: true },
          { withToken: false },
        );
        const real: Real = { engine, db, agent, people: { alice, root }, clock, next: () => `${id}-${++counter}` };
        const model: Model = { now: clock.now, outcomes: [], live: [], changes: [] };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 300_000);
});
