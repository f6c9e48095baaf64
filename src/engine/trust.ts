// Earned trust in the engine (docs/trust.md): the history an assessment reads, and the note an
// action adds to its journal when the outcomes it records change its agent's adjustment.
import type { TrustInput } from '../core/risk.js';
import {
  APPLIES,
  FAILURES,
  type OutcomeFacts,
  type TrustConfig,
  trustChanged,
  trustStanding,
  withOutcome,
} from '../core/trust.js';
import type { Status } from '../core/types.js';
import type { Queryable } from '../store/db.js';
import { readTrustHistory } from '../store/track-record.js';
import type { EngineContext } from './context.js';
import type { Journal } from './journal.js';

const DAY_MS = 86_400_000;

/** The start of the trust window at `now`. */
export const trustWindowStart = (config: TrustConfig, now: Date): string =>
  new Date(now.getTime() - config.window_days * DAY_MS).toISOString();

/** The trust input of an assessment of `agentId`'s change-set now; null (nothing read) when trust is off. */
export async function readTrust(ctx: EngineContext, db: Queryable, agentId: string): Promise<TrustInput | null> {
  const config = ctx.config.trust;
  if (config.mode === 'off') return null;
  return { config, history: await readTrustHistory(db, agentId, trustWindowStart(config, ctx.clock())) };
}

const countsForTrust = (facts: OutcomeFacts): boolean => APPLIES.has(facts.outcome) || FAILURES.has(facts.outcome);

/**
 * When the outcomes this action records move its agent's earned credit a step (core's
 * trustChanged), journals `trust_changed` and the event `agent.trust_changed`: a promotion or a
 * demotion, with the credit before and after, the new adjustment and its reason. Nothing when
 * trust is off.
 */
export async function noteTrustChange(
  ctx: EngineContext,
  db: Queryable,
  journal: Journal,
  subject: { agent_id: string; status: Status; applied_at: string | null },
  now: Date,
): Promise<void> {
  const config = ctx.config.trust;
  if (config.mode === 'off') return;
  const outcomes = journal.outcomes(subject).filter(countsForTrust);
  if (outcomes.length === 0) return;
  const history = await readTrustHistory(db, subject.agent_id, trustWindowStart(config, now));
  const before = trustStanding(history, config);
  const after = trustStanding(
    outcomes.reduce((h, facts) => withOutcome(h, facts.outcome), history),
    config,
  );
  const change = trustChanged(before, after);
  if (change === null) return;
  const data = {
    agent_id: subject.agent_id,
    change,
    mode: config.mode,
    from: before.credit,
    to: after.credit,
    adjustment: after.adjustment,
    reason: after.reason,
  };
  journal.audit('trust_changed', data).event('agent.trust_changed', data);
}
