// An agent's track record (docs/trust.md): its outcomes counted over windows, overall, per category
// and per target type, with the change fail rate and its earned trust as of now.
import { LedgerError } from '../core/errors.js';
import { type Outcome, type RecordWindow, type TrackRecord, trustStanding, type WindowCounts } from '../core/trust.js';
import type { Principal } from '../core/types.js';
import type { Queryable } from '../store/db.js';
import { findPrincipal } from '../store/principals.js';
import { emptyCounts, type OutcomeCounts, readRecordCounts, readTrustHistory } from '../store/track-record.js';
import type { EngineContext } from './context.js';
import { trustWindowStart } from './trust.js';

export type { RecordWindow, TrackRecord, WindowCounts } from '../core/trust.js';

const DAY_MS = 86_400_000;

/** Rounded to 4 decimals, so the JSON stays short; capped at 1 (a rollback may follow an apply before the window). */
function failRate(counts: Record<Outcome, number>): number | null {
  const attempts = counts.applied + counts.partially_applied + counts.apply_failed;
  if (attempts === 0) return null;
  const rate = Math.min(1, (counts.rolled_back + counts.apply_failed) / attempts);
  return Math.round(rate * 10_000) / 10_000;
}

function shown(counts: OutcomeCounts): WindowCounts {
  return {
    ...counts.counts,
    rejected_by_veto: counts.rejected_by_veto,
    change_fail_rate: failRate(counts.counts),
    rollback_after_apply_ms: counts.rollback_after_apply_ms,
  };
}

const byWindow = (windows: readonly RecordWindow[], counts: readonly OutcomeCounts[]): Record<string, WindowCounts> =>
  Object.fromEntries(windows.map((w, i) => [w.name, shown(counts[i] ?? emptyCounts())]));

const nested = (windows: readonly RecordWindow[], map: ReadonlyMap<string, OutcomeCounts[]>) =>
  Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, c]) => [key, byWindow(windows, c)]));

/**
 * Who may read an agent's record: admins, the agent itself, and people (the reviewers who weigh its
 * change-sets). Other agents and services may not: an agent has no need of another's standing, and
 * the answer would tell it which agents are close to credit. Refused before the agent is looked up,
 * so a refusal says nothing of whether it exists.
 */
function assertMayRead(actor: Principal, agentId: string): void {
  if (actor.id === agentId || actor.kind === 'human' || actor.groups.includes('admin')) return;
  throw new LedgerError(
    'FORBIDDEN',
    `${actor.id} may not read the track record of ${agentId}: it is for admins, people and the agent itself`,
  );
}

export async function readTrackRecord(
  ctx: EngineContext,
  db: Queryable,
  actor: Principal,
  agentId: string,
): Promise<TrackRecord> {
  assertMayRead(actor, agentId);
  if (!(await findPrincipal(db, agentId))) throw new LedgerError('NOT_FOUND', `principal ${agentId} does not exist`);
  const now = ctx.clock();
  const config = ctx.config.trust;
  const days = [...new Set(config.record_windows_days)].sort((a, b) => a - b);
  const windows: RecordWindow[] = [
    ...days.map((d) => ({ name: `${d}d`, days: d, since: new Date(now.getTime() - d * DAY_MS).toISOString() })),
    { name: 'all', days: null, since: null },
  ];
  const counts = await readRecordCounts(
    db,
    agentId,
    windows.map((w) => w.since),
  );
  const history = await readTrustHistory(db, agentId, trustWindowStart(config, now));
  return {
    agent_id: agentId,
    as_of: now.toISOString(),
    windows,
    overall: byWindow(windows, counts.overall),
    by_category: nested(windows, counts.by_category),
    by_target_type: nested(windows, counts.by_target_type),
    trust: { mode: config.mode, window_days: config.window_days, ...history, ...trustStanding(history, config) },
  };
}
