// Replay's verdicts, pure: what was recorded for a change-set against what a candidate configuration
// would have decided, which of them differ, the totals, and the sentence that sums them up
// (docs/trust.md#policies-in-shadow-and-replay).
import { type Static, Type } from 'typebox';
import { POLICY_ACTIONS } from './policy.js';
import { Nullable, StringEnum } from './schema-kit.js';
import { RISK_LEVELS } from './types.js';

// Declared once, as the API's response schema (POST /api/ledger/policies/replay); the types derive from it.

const Count = Type.Integer({ minimum: 0 });

/** What a configuration decided (recorded) or would decide (candidate) about one change-set. */
const ReplayOutcomeSchema = Type.Object({
  risk_level: StringEnum(RISK_LEVELS),
  risk_score: Type.Number(),
  auto_approved: Type.Boolean(),
  required_approvals: Type.Integer(),
  denied: Nullable(
    Type.Object(
      { action: StringEnum(POLICY_ACTIONS), policies: Type.Array(Type.String()) },
      { description: 'the first action a policy denied (or would deny), and by which policies; null: none' },
    ),
  ),
});
export type ReplayOutcome = Static<typeof ReplayOutcomeSchema>;

export const REPLAY_FIELDS = ['risk_level', 'auto_approved', 'required_approvals', 'denied'] as const;
export type ReplayField = (typeof REPLAY_FIELDS)[number];

const ReplayDifferenceSchema = Type.Object({
  change_set_id: Type.String(),
  path: Type.String({ description: 'the change-set in the API' }),
  status: Type.String(),
  rolled_back: Type.Boolean({ description: 'whether the change-set was rolled back (its later history)' }),
  differs: Type.Array(StringEnum(REPLAY_FIELDS)),
  recorded: ReplayOutcomeSchema,
  candidate: ReplayOutcomeSchema,
});
export type ReplayDifference = Static<typeof ReplayDifferenceSchema>;

const ReplayTotalsSchema = Type.Object({
  replayed: Type.Integer({ minimum: 0, description: 'change-sets replayed' }),
  changed: Type.Integer({ minimum: 0, description: 'change-sets with at least one difference' }),
  risk_level: Type.Object({ raised: Count, lowered: Count }),
  auto_approved: Type.Object({ more: Count, fewer: Count, more_later_rolled_back: Count }),
  required_approvals: Type.Object({ more: Count, fewer: Count }),
  denied: Type.Object({ more: Count, fewer: Count, other_action: Count }),
});
export type ReplayTotals = Static<typeof ReplayTotalsSchema>;

export const ReplayResultSchema = Type.Object({
  since: Type.String(),
  until: Type.String(),
  policies: Type.Array(Type.String(), {
    description: 'policies judged (the enforced ones, and the shadow ones with enforce_shadow)',
  }),
  totals: ReplayTotalsSchema,
  summary: Type.String(),
  differences: Type.Array(ReplayDifferenceSchema, {
    description: 'the first `limit` differing change-sets, in creation order',
  }),
  truncated: Type.Boolean({ description: 'more change-sets differ than are listed' }),
});
export type ReplayResult = Static<typeof ReplayResultSchema>;

export function emptyTotals(): ReplayTotals {
  return {
    replayed: 0,
    changed: 0,
    risk_level: { raised: 0, lowered: 0 },
    auto_approved: { more: 0, fewer: 0, more_later_rolled_back: 0 },
    required_approvals: { more: 0, fewer: 0 },
    denied: { more: 0, fewer: 0, other_action: 0 },
  };
}

const deniedKey = (outcome: ReplayOutcome): string =>
  outcome.denied ? `${outcome.denied.action}:${[...outcome.denied.policies].sort().join(',')}` : '';

/** The fields in which the candidate's outcome differs from the recorded one. */
export function differingFields(recorded: ReplayOutcome, candidate: ReplayOutcome): ReplayField[] {
  const differs: ReplayField[] = [];
  if (recorded.risk_level !== candidate.risk_level) differs.push('risk_level');
  if (recorded.auto_approved !== candidate.auto_approved) differs.push('auto_approved');
  if (recorded.required_approvals !== candidate.required_approvals) differs.push('required_approvals');
  if (deniedKey(recorded) !== deniedKey(candidate)) differs.push('denied');
  return differs;
}

/** Adds one replayed change-set to the totals (mutates `totals`). */
export function countReplayed(
  totals: ReplayTotals,
  recorded: ReplayOutcome,
  candidate: ReplayOutcome,
  rolledBack: boolean,
): void {
  totals.replayed += 1;
  if (differingFields(recorded, candidate).length === 0) return;
  totals.changed += 1;
  const level = RISK_LEVELS.indexOf(candidate.risk_level) - RISK_LEVELS.indexOf(recorded.risk_level);
  if (level > 0) totals.risk_level.raised += 1;
  if (level < 0) totals.risk_level.lowered += 1;
  if (candidate.auto_approved && !recorded.auto_approved) {
    totals.auto_approved.more += 1;
    if (rolledBack) totals.auto_approved.more_later_rolled_back += 1;
  }
  if (!candidate.auto_approved && recorded.auto_approved) totals.auto_approved.fewer += 1;
  if (candidate.required_approvals > recorded.required_approvals) totals.required_approvals.more += 1;
  if (candidate.required_approvals < recorded.required_approvals) totals.required_approvals.fewer += 1;
  if (candidate.denied && !recorded.denied) totals.denied.more += 1;
  else if (!candidate.denied && recorded.denied) totals.denied.fewer += 1;
  else if (deniedKey(candidate) !== deniedKey(recorded)) totals.denied.other_action += 1;
}

const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** "12 more auto-approved, none of them later rolled back; 3 would have been denied; …" */
export function replaySummary(totals: ReplayTotals): string {
  if (totals.replayed === 0) return 'no change-set was recorded in the window';
  if (totals.changed === 0) return `${count(totals.replayed, 'change-set')} replayed: nothing would differ`;
  const parts: string[] = [];
  const { auto_approved: auto, denied, risk_level: level, required_approvals: approvals } = totals;
  if (auto.more > 0) {
    const back = auto.more_later_rolled_back;
    const rolled = back === 0 ? 'none of them' : back === auto.more ? `all ${back} of them` : `${back} of them`;
    parts.push(`${auto.more} more auto-approved, ${rolled} later rolled back`);
  }
  if (auto.fewer > 0) parts.push(`${auto.fewer} fewer auto-approved`);
  if (denied.more > 0) parts.push(`${denied.more} would have been denied`);
  if (denied.fewer > 0) parts.push(`${denied.fewer} denied before would have been allowed`);
  if (denied.other_action > 0) parts.push(`${count(denied.other_action, 'denial')} at another action or policy`);
  if (level.raised > 0) parts.push(`risk level raised for ${level.raised}`);
  if (level.lowered > 0) parts.push(`risk level lowered for ${level.lowered}`);
  if (approvals.more > 0) parts.push(`more approvals required for ${approvals.more}`);
  if (approvals.fewer > 0) parts.push(`fewer approvals required for ${approvals.fewer}`);
  return `${totals.changed} of ${count(totals.replayed, 'change-set')} would differ: ${parts.join('; ')}`;
}
