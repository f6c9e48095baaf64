// Track record and earned trust (docs/trust.md): the outcomes a change-set's events count as, the
// `trust` settings, and the adjustment an agent's recent record earns on its agent factor. Pure:
// the record is read by the engine and passed in.

import { type Static, Type } from 'typebox';
import { defaultsOf, int, list, oneOf, type Resolved, section, text } from './config-kit.js';
import { deepFreeze } from './deep-freeze.js';
import type { EventType } from './events.js';
import { Nullable, StringEnum } from './schema-kit.js';
import type { Json, Status } from './types.js';

export const TRUST_MODES = ['off', 'shadow', 'enforce'] as const;
export type TrustMode = (typeof TRUST_MODES)[number];

/** The `trust` section of the configuration file, declared once with its defaults (docs/configuration.md). */
export const TrustSection = section({
  /** off: no adjustment, nothing shown; shadow: shown, no effect; enforce: the score uses it. */
  mode: oneOf(TRUST_MODES, 'shadow'),
  /** The days of outcomes the adjustment counts (and the window its history is read over). */
  window_days: int(1, 3650, 30),
  /** Clean applies (since the last rollback or failed apply, in the window) per step of credit. */
  min_history: int(1, 100_000, 20),
  /** Points one step of credit takes off the agent factor. */
  credit_step: int(0, 100, 5),
  /** The most a clean record may take off the agent factor. */
  max_credit: int(0, 100, 10),
  /** Points each rollback or failed apply in the window adds to the agent factor, at once. */
  penalty: int(0, 100, 10),
  /** The most the penalties may add. */
  max_penalty: int(0, 100, 30),
  /** Change-sets of these categories never get an adjustment. */
  exempt_categories: list(text(), ['SECURITY']),
  /** Change-sets with an item of one of these target types never get an adjustment. */
  exempt_target_types: list(text(), ['SECURITY']),
  /** The windows, in days, the track record is counted over (besides all time). */
  record_windows_days: list(int(1, 3650), [7, 30, 90]),
});

export type TrustConfig = Resolved<typeof TrustSection>;

export const DEFAULT_TRUST_CONFIG: TrustConfig = deepFreeze(defaultsOf(TrustSection));

// ---------------------------------------------------------------------------------------------
// Outcomes: what the record counts, one row per event that is one.

export const OUTCOMES = [
  'proposed',
  'auto_approved',
  'approved',
  'rejected',
  'applied',
  'partially_applied',
  'apply_failed',
  'rolled_back',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The outcomes trust is computed from: what happened when the change was applied. */
export const APPLIES: ReadonlySet<Outcome> = new Set(['applied', 'partially_applied']);
export const FAILURES: ReadonlySet<Outcome> = new Set(['rolled_back', 'apply_failed']);

export interface OutcomeFacts {
  outcome: Outcome;
  /** A rejection by a reviewer's decision while pending (not a close, an expiry or a revocation). */
  veto: boolean;
  /** For a rollback: milliseconds since the change-set was applied. */
  after_apply_ms: number | null;
}

interface JournaledEvent {
  type: EventType;
  data: Json;
}

const dataOf = (event: JournaledEvent): Record<string, Json> =>
  event.data !== null && typeof event.data === 'object' && !Array.isArray(event.data) ? event.data : {};

/**
 * The outcomes an action's events count as. `subject` is the change-set as the action leaves it
 * (its status says whether an apply was partial; `applied_at` when a rollback's apply was).
 */
export function outcomesOf(
  events: readonly JournaledEvent[],
  subject: { status: Status; applied_at: string | null },
  at: string,
): OutcomeFacts[] {
  const found: OutcomeFacts[] = [];
  const add = (outcome: Outcome, extra: Partial<OutcomeFacts> = {}) =>
    found.push({ outcome, veto: false, after_apply_ms: null, ...extra });
  for (const event of events) {
    const data = dataOf(event);
    if (event.type === 'changeset.created') add('proposed');
    else if (event.type === 'changeset.approved') {
      // Create says auto_approved; a submit that needed no approval says required_approvals: 0.
      const auto = data['auto_approved'] === true || data['required_approvals'] === 0;
      add(auto ? 'auto_approved' : 'approved');
    } else if (event.type === 'changeset.rejected') add('rejected', { veto: data['revoked'] === false });
    else if (event.type === 'changeset.applied')
      add(subject.status === 'PARTIALLY_APPLIED' ? 'partially_applied' : 'applied');
    else if (event.type === 'changeset.apply_failed') add('apply_failed');
    else if (event.type === 'changeset.rolled_back') {
      const since = subject.applied_at === null ? null : Date.parse(at) - Date.parse(subject.applied_at);
      add('rolled_back', { after_apply_ms: since === null || Number.isNaN(since) ? null : Math.max(0, since) });
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Earned trust.

/** What the adjustment is computed from: the agent's applies and failures in the trust window. */
export interface TrustHistory {
  /** Applies (complete or partial) in the window. */
  applied: number;
  /** Rollbacks and failed applies in the window. */
  failures: number;
  /** Applies after the last failure in the window (all of them when there is none). */
  clean_streak: number;
}

export const NO_HISTORY: TrustHistory = Object.freeze({ applied: 0, failures: 0, clean_streak: 0 });

/** The adjustment an agent's record earns: points added to (penalty) or taken off (credit) its agent factor. */
export interface TrustStanding {
  /** penalty − credit: negative lowers the agent factor. */
  adjustment: number;
  credit: number;
  penalty: number;
  reason: string;
}

const signed = (points: number): string => (points > 0 ? `+${points}` : String(points));

/** The standing a history earns: slow credit for clean applies, immediate penalty for each failure. */
export function trustStanding(history: TrustHistory, config: TrustConfig = DEFAULT_TRUST_CONFIG): TrustStanding {
  const steps = Math.floor(history.clean_streak / config.min_history);
  const credit = Math.min(config.max_credit, steps * config.credit_step);
  const penalty = Math.min(config.max_penalty, history.failures * config.penalty);
  const adjustment = penalty - credit;
  const days = `in ${config.window_days} days`;
  let why: string;
  if (history.failures > 0) {
    why = `${history.failures} rolled back or failed ${days}, ${history.clean_streak} applied since`;
  } else if (credit > 0) {
    why = `${history.applied} applied, 0 rolled back or failed ${days}`;
  } else {
    why = `${history.applied} applied, 0 rolled back or failed ${days}; credit from ${config.min_history} clean applies`;
  }
  return { adjustment, credit, penalty, reason: `${signed(adjustment)}: ${why}` };
}

/** Why a change-set gets no adjustment whatever its agent's record, or null when it may get one. */
export function trustExemption(
  subject: { category: string; items: ReadonlyArray<{ target_type: string }> },
  config: TrustConfig,
): string | null {
  if (config.exempt_categories.includes(subject.category)) {
    return `0: trust never applies to category ${subject.category}`;
  }
  const type = subject.items.find((item) => config.exempt_target_types.includes(item.target_type))?.target_type;
  return type === undefined ? null : `0: trust never applies to target type ${type}`;
}

/**
 * Whether the agent's trust changed: the credit it has earned moved a step, up (a promotion) or
 * down (a demotion: a failure empties it at once). A penalty alone is no change of trust: the
 * rollback or failed apply behind it is announced already.
 */
export function trustChanged(before: TrustStanding, after: TrustStanding): 'promotion' | 'demotion' | null {
  if (after.credit > before.credit) return 'promotion';
  if (after.credit < before.credit) return 'demotion';
  return null;
}

/** The history after one more outcome (a model of what the store counts; see test/core/trust.model.test.ts). */
export function withOutcome(history: TrustHistory, outcome: Outcome): TrustHistory {
  if (APPLIES.has(outcome)) {
    return { ...history, applied: history.applied + 1, clean_streak: history.clean_streak + 1 };
  }
  if (FAILURES.has(outcome)) return { ...history, failures: history.failures + 1, clean_streak: 0 };
  return history;
}

// ---------------------------------------------------------------------------------------------
// The track record as the API answers it (GET /api/ledger/agents/{id}/track-record).

// Declared once, as the API's response schema; the engine, the CLI and the dashboard read its type.

const Count = Type.Integer({ minimum: 0 });

/** The time from apply to rollback over the rollbacks counted. */
const RollbackSpreadSchema = Type.Object({ min: Type.Integer(), median: Type.Integer(), max: Type.Integer() });
export type RollbackSpread = Static<typeof RollbackSpreadSchema>;

const outcomeCounts = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, Count])) as {
  [K in Outcome]: typeof Count;
};

const WindowCountsSchema = Type.Object({
  ...outcomeCounts,
  rejected_by_veto: Type.Integer({ minimum: 0, description: 'rejections by a reviewer while pending' }),
  change_fail_rate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
    description:
      '(rolled_back + apply_failed) / (applied + partially_applied + apply_failed), at most 1; null with no applies',
  }),
  rollback_after_apply_ms: Type.Union([RollbackSpreadSchema, Type.Null()], {
    description: 'milliseconds from apply to rollback over the rollbacks of the window; null with none',
  }),
});
export type WindowCounts = Static<typeof WindowCountsSchema>;

const ByWindow = Type.Record(Type.String(), WindowCountsSchema, {
  description: 'window name (7d, 30d…, all) → counts',
});

const RecordWindowSchema = Type.Object({
  /** `7d`, `30d`…, and `all`. */
  name: Type.String(),
  days: Nullable(Type.Integer()),
  since: Nullable(Type.String({ format: 'date-time' })),
});
export type RecordWindow = Static<typeof RecordWindowSchema>;

export const TrackRecordSchema = Type.Object({
  agent_id: Type.String(),
  as_of: Type.String({ format: 'date-time' }),
  windows: Type.Array(RecordWindowSchema),
  overall: ByWindow,
  by_category: Type.Record(Type.String(), ByWindow, { description: 'category → window name → counts' }),
  by_target_type: Type.Record(Type.String(), ByWindow, {
    description: 'target type → window name → counts (a change-set counts once per target type of its items)',
  }),
  trust: Type.Object(
    {
      mode: StringEnum(TRUST_MODES),
      window_days: Type.Integer(),
      applied: Type.Integer(),
      failures: Type.Integer(),
      clean_streak: Type.Integer(),
      credit: Type.Integer(),
      penalty: Type.Integer(),
      adjustment: Type.Integer({ description: 'points on the agent factor: negative lowers it' }),
      reason: Type.String(),
    },
    { description: "the agent's earned trust now: what its next change-set's trust factor starts from" },
  ),
});
export type TrackRecord = Static<typeof TrackRecordSchema>;
