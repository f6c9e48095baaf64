// A line diff of two pretty-printed JSON values, as rows of a side-by-side table.
import { defined } from '../../core/defined.js';
import type { Json } from '../../core/types.js';

export type RowKind = 'same' | 'changed' | 'removed' | 'added';

export interface DiffRow {
  kind: RowKind;
  /** The line on the before side (null: nothing there). */
  before: string | null;
  after: string | null;
}

/** Beyond this many lines a side, the LCS table would be too large: every line counts as changed. */
const MAX_LINES = 2_000;

/** Keys in order at every level, so that two states line up however they were stored. */
function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, inner]) => [key, sortKeys(inner)]),
  );
}

export const prettyJson = (value: Json | undefined): string[] =>
  value === undefined ? [] : JSON.stringify(sortKeys(value), null, 2).split('\n');

/** A line without its trailing comma: appending to a list must not mark the line before as changed. */
const bare = (line: string) => (line.endsWith(',') ? line.slice(0, -1) : line);

type Op = { kind: 'same'; line: string; other: string } | { kind: 'removed' | 'added'; line: string };

function lcsOps(before: string[], after: string[]): Op[] {
  const a = before.map(bare);
  const b = after.map(bare);
  const n = a.length;
  const m = b.length;
  const table: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  // Every cell read is inside the (n + 1) x (m + 1) table; `?? 0` only satisfies the index type.
  const cell = (i: number, j: number): number => table[i]?.[j] ?? 0;
  for (let i = n - 1; i >= 0; i--) {
    const row = defined(table[i], 'LCS table row');
    for (let j = m - 1; j >= 0; j--) {
      row[j] = a[i] === b[j] ? cell(i + 1, j + 1) + 1 : Math.max(cell(i + 1, j), cell(i, j + 1));
    }
  }
  const lineOf = (lines: string[], index: number) => defined(lines[index], 'diff line');
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ kind: 'same', line: lineOf(before, i), other: lineOf(after, j) });
      i++;
      j++;
    } else if (cell(i + 1, j) >= cell(i, j + 1)) ops.push({ kind: 'removed', line: lineOf(before, i++) });
    else ops.push({ kind: 'added', line: lineOf(after, j++) });
  }
  while (i < n) ops.push({ kind: 'removed', line: lineOf(before, i++) });
  while (j < m) ops.push({ kind: 'added', line: lineOf(after, j++) });
  return ops;
}

/** Pairs each run of removed lines with the run of added lines after it, like a split diff view. */
function toRows(ops: Op[]): DiffRow[] {
  const rows: DiffRow[] = [];
  let k = 0;
  while (k < ops.length) {
    const op = defined(ops[k], 'diff op');
    if (op.kind === 'same') {
      rows.push({ kind: 'same', before: op.line, after: op.other });
      k++;
      continue;
    }
    const removed: string[] = [];
    const added: string[] = [];
    let next = ops[k];
    while (next?.kind === 'removed') {
      removed.push(next.line);
      next = ops[++k];
    }
    while (next?.kind === 'added') {
      added.push(next.line);
      next = ops[++k];
    }
    for (let r = 0; r < Math.max(removed.length, added.length); r++) {
      const before = removed[r] ?? null;
      const after = added[r] ?? null;
      rows.push({
        kind: before !== null && after !== null ? 'changed' : before !== null ? 'removed' : 'added',
        before,
        after,
      });
    }
  }
  return rows;
}

export function diffLines(before: string[], after: string[]): DiffRow[] {
  if (before.length > MAX_LINES || after.length > MAX_LINES) {
    return toRows([
      ...before.map((line) => ({ kind: 'removed' as const, line })),
      ...after.map((line) => ({ kind: 'added' as const, line })),
    ]);
  }
  return toRows(lcsOps(before, after));
}
