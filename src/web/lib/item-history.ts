// What an item did, told from the target's stored history rather than the current plan: the
// version it wrote (a → b), what a rollback restored (b → c), and which other change-sets moved
// the target around it (drift, conflicts), so that a page about the past never shows a forecast.
import type { HistoryEntry, Item, PlanState } from './types.js';

export interface Step {
  from: PlanState;
  to: PlanState;
  entry: HistoryEntry;
}

export interface ItemStory {
  /** The write the item made when it was applied. */
  applied: Step | null;
  /** The write its rollback made, restoring what was there before. */
  restored: Step | null;
  /** Writes by other change-sets after the version the item was based on or wrote, oldest first. */
  movedBy: HistoryEntry[];
}

export const stateAt = (history: readonly HistoryEntry[], version: number): PlanState => {
  const entry = history.find((h) => h.version === version);
  return entry?.present ? { present: true, version, state: entry.state } : { present: false, version, state: null };
};

const stepOf = (history: readonly HistoryEntry[], entry: HistoryEntry | undefined): Step | null =>
  entry ? { from: stateAt(history, entry.version - 1), to: stateAt(history, entry.version), entry } : null;

export function itemStory(
  item: Pick<Item, 'id' | 'base_version' | 'applied_version'>,
  changeSetUuid: string,
  history: readonly HistoryEntry[],
): ItemStory {
  const mine = history.filter((h) => h.item === item.id);
  const applied = stepOf(
    history,
    mine.find((h) => h.operation.toUpperCase() !== 'ROLLBACK'),
  );
  const restored = stepOf(
    history,
    mine.find((h) => h.operation.toUpperCase() === 'ROLLBACK'),
  );
  const since = applied?.entry.version ?? item.applied_version ?? item.base_version ?? null;
  const movedBy = since === null ? [] : history.filter((h) => h.version > since && h.change_set_uuid !== changeSetUuid);
  return { applied, restored, movedBy };
}

/** "CS-7 (version 3), CS-9 (version 4)": who moved the target, for a sentence. */
export function movedBySentence(movedBy: readonly HistoryEntry[]): string {
  return movedBy
    .map((h) => `${h.change_set} (version ${h.version}, ${h.operation.toLowerCase()} by ${h.actor})`)
    .join(', ');
}
