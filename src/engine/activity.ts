// The activity overview: any principal may read it (like the list). The window is whole UTC days
// ending today by the engine's clock; core shapes what the store counts (core/activity.ts).
import { ACTIVITY_DAYS, type ActivityStats, activityWindow, assembleActivity } from '../core/activity.js';
import { LedgerError } from '../core/errors.js';
import { activityCounts } from '../store/activity.js';
import type { EngineContext } from './context.js';

export interface ActivityQuery {
  /** Whole UTC days ending today, ACTIVITY_DAYS.min to .max (default ACTIVITY_DAYS.default). */
  days?: number | undefined;
}

export async function activityStats(ctx: EngineContext, query: ActivityQuery = {}): Promise<ActivityStats> {
  const days = query.days ?? ACTIVITY_DAYS.default;
  if (!Number.isInteger(days) || days < ACTIVITY_DAYS.min || days > ACTIVITY_DAYS.max) {
    throw new LedgerError(
      'VALIDATION_FAILED',
      `days must be a whole number from ${ACTIVITY_DAYS.min} to ${ACTIVITY_DAYS.max}, not ${days}`,
      [{ path: 'days', message: `must be an integer from ${ACTIVITY_DAYS.min} to ${ACTIVITY_DAYS.max}` }],
    );
  }
  const now = ctx.clock();
  const window = activityWindow(now, days);
  return assembleActivity(window, await activityCounts(ctx.db, window, now), now);
}
