// Policy evaluation throughput: one evaluation = building the variables as the engine does and
// evaluating 10 policies (the cookbook of docs/policies.md plus a few more) for a 10-item
// change-set, through engine/policies.ts's evaluateFor — the function create, submit, apply and
// rollback call. Run: node --import tsx bench/policy.bench.ts  (or npm run bench:policy)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parse, stringify } from 'yaml';
import { engineConfigOf, parseConfig } from '../src/config.js';
import type { Principal } from '../src/core/types.js';
import { evaluateFor } from '../src/engine/policies.js';
import { draftChangeSet, offlineContext } from '../src/engine/policy-test.js';

const TARGET_PER_SECOND = 50_000;
const WARM_UP_MS = 1_500;
const ROUNDS = 5;
const ROUND_MS = 1_000;
const BATCH = 250;

const COOKBOOK = [
  'weekend-freeze',
  'year-end-freeze',
  'security-review',
  'no-agent-deletes-after-hours',
  'agent-item-cap',
  'critical-two-person-rule',
  'prod-needs-release-manager',
  'prod-needs-ticket',
];
const MORE = [
  {
    name: 'protect-admin-targets',
    condition: 'principal.kind != "human" && items.exists(i, i.target_id.startsWith("admin."))',
    effect: 'deny',
    message: 'Only humans change admin.* targets',
  },
  {
    name: 'risky-auto-apply',
    condition: 'change_set.auto_apply && change_set.risk.level in ["HIGH", "CRITICAL"]',
    effect: 'warn',
    message: 'auto_apply on a risky change-set',
  },
];

/** The cookbook policies as the page writes them, each made to run at every action. */
function policies(): object[] {
  const doc = readFileSync(new URL('../docs/policies.md', import.meta.url), 'utf8');
  const written = [...doc.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].flatMap(
    (match) => (parse(match[1]!) as { policies: { name: string; actions?: string[] }[] }).policies,
  );
  const chosen = COOKBOOK.map((name) => {
    const policy = written.find((p) => p.name === name);
    if (!policy) throw new Error(`docs/policies.md has no policy ${name}`);
    const { actions: _actions, ...rest } = policy;
    return rest;
  });
  return [...chosen, ...MORE];
}

const now = new Date('2026-11-25T10:00:00.000Z'); // a Wednesday morning: no freeze, business hours
const config = engineConfigOf(parseConfig(stringify({ policies: policies() }), { env: {} }));
const ctx = offlineContext(config, now);
const principal: Principal = {
  id: 'Agent-D',
  kind: 'agent',
  display_name: 'Deploy agent',
  email: 'agent-d@example.com',
  slack_id: null,
  groups: ['agents'],
  risk: null,
  active: true,
};
const body = {
  change_set_id: 'CS-BENCH-1',
  title: 'Tune the payment service',
  description: 'Timeouts, pool sizes and a retired flag',
  agent_type: 'BACKEND',
  category: 'CONFIG_UPDATE',
  priority: 'NORMAL',
  tags: ['prod', 'payments'],
  metadata: { ticket: 'OPS-1234', owner: 'payments' },
  approval_chain: ['alice'],
  items: [
    ...Array.from({ length: 8 }, (_, n) => ({
      operation_type: 'UPDATE',
      target_type: 'SERVICE_CONFIG',
      target_id: `payments.setting.${n}`,
      after_state: { value: n * 10, unit: 'ms', comment: `setting ${n}` },
    })),
    {
      operation_type: 'CREATE',
      target_type: 'FEATURE_FLAG',
      target_id: 'payments.new-flow',
      after_state: { on: false },
    },
    { operation_type: 'DELETE', target_type: 'FEATURE_FLAG', target_id: 'payments.old-flow' },
  ],
};
const draft = draftChangeSet(ctx, body, principal);
const row = { ...draft.row, status: 'APPROVED' as const };
const evaluate = () => evaluateFor(ctx, 'apply', row, draft.items, principal);

const check = evaluate();
if (check.evaluations.length !== 10) throw new Error(`expected 10 evaluations, got ${check.evaluations.length}`);
const failed = check.evaluations.filter((e) => e.message?.startsWith('condition failed to evaluate'));
if (failed.length > 0)
  throw new Error(`conditions failed: ${failed.map((e) => `${e.policy}: ${e.message}`).join('; ')}`);

function runFor(ms: number, fn: () => unknown = evaluate): { evaluations: number; elapsed: number } {
  let evaluations = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < BATCH; i++) fn();
    evaluations += BATCH;
    elapsed = performance.now() - start;
  }
  return { evaluations, elapsed };
}
const rate = (r: { evaluations: number; elapsed: number }) => Math.round((r.evaluations / r.elapsed) * 1000);

runFor(WARM_UP_MS);
const rounds = Array.from({ length: ROUNDS }, () => runFor(ROUND_MS));
const total = rounds.reduce(
  (sum, r) => ({ evaluations: sum.evaluations + r.evaluations, elapsed: sum.elapsed + r.elapsed }),
  {
    evaluations: 0,
    elapsed: 0,
  },
);
const perSecond = rate(total);
const roundRates = rounds.map(rate).sort((a, b) => a - b);

/** Where the time goes: each policy alone (variables built each time, as above), in µs. */
const perPolicy = config.policies.map((policy) => {
  const alone = offlineContext({ ...config, policies: [policy] }, now);
  const fn = () => evaluateFor(alone, 'apply', row, draft.items, principal);
  runFor(100, fn);
  return { name: policy.name, microseconds: Number((1e6 / rate(runFor(300, fn))).toFixed(2)) };
});

const result = {
  benchmark: 'policy evaluation',
  unit: 'evaluations/s',
  evaluation: 'building the variables (engine/policies.ts evaluateFor) and evaluating 10 policies, 10 items',
  evaluations_per_second: perSecond,
  target_per_second: TARGET_PER_SECOND,
  meets_target: perSecond >= TARGET_PER_SECOND,
  microseconds_per_evaluation: Number((1e6 / perSecond).toFixed(2)),
  rounds: {
    count: ROUNDS,
    ms_each: ROUND_MS,
    min: roundRates[0],
    median: roundRates[Math.floor(ROUNDS / 2)],
    max: roundRates.at(-1),
  },
  warm_up_ms: WARM_UP_MS,
  evaluations: total.evaluations,
  policies: check.evaluations.map((e) => ({
    name: e.policy,
    matched: e.matched,
    microseconds_alone: perPolicy.find((p) => p.name === e.policy)?.microseconds,
  })),
  items: draft.items.length,
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  date: new Date().toISOString(),
};

console.log(
  `policy evaluation: ${perSecond.toLocaleString('en-US')} evaluations/s ` +
    `(target ≥ ${TARGET_PER_SECOND.toLocaleString('en-US')}/s: ${result.meets_target ? 'met' : 'NOT met'}), ` +
    `${result.microseconds_per_evaluation} µs each; rounds ${roundRates.join(', ')}`,
);
const out = new URL('./results/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('policy.json', out), `${JSON.stringify(result, null, 2)}\n`);
const slowest = [...perPolicy].sort((a, b) => b.microseconds - a.microseconds).slice(0, 3);
console.log(`slowest policies alone: ${slowest.map((p) => `${p.name} ${p.microseconds} µs`).join(', ')}`);
console.log('written to bench/results/policy.json');
