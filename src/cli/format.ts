// Human-readable output: aligned tables and short summaries; --json prints the API's JSON.
import { defined } from '../core/defined.js';

export function printResult(value: unknown, json: boolean | undefined, human: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : human());
}

/** An aligned plain-text table. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => defined(row[i], 'table cell').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
