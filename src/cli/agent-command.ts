// `changeledger agent track-record <id>`: an agent's track record and earned trust, over HTTP
// (docs/trust.md). A table per window by default; --json prints the API's answer.
import type { Command } from 'commander';
import type { TrackRecord, WindowCounts } from '../engine/index.js';
import { clientOf, connectionOptions, fields, jsonOption } from './client-commands.js';
import { printResult, table } from './format.js';

const rate = (value: number | null) => (value === null ? '-' : `${(value * 100).toFixed(1)}%`);
const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;

const COLUMNS: [string, (c: WindowCounts) => unknown][] = [
  ['PROPOSED', (c) => c.proposed],
  ['AUTO', (c) => c.auto_approved],
  ['APPROVED', (c) => c.approved],
  ['REJECTED', (c) => `${c.rejected} (${c.rejected_by_veto} veto)`],
  ['APPLIED', (c) => c.applied],
  ['PARTIAL', (c) => c.partially_applied],
  ['FAILED', (c) => c.apply_failed],
  ['ROLLED BACK', (c) => c.rolled_back],
  ['FAIL RATE', (c) => rate(c.change_fail_rate)],
  ['ROLLBACK AFTER', (c) => (c.rollback_after_apply_ms ? `median ${seconds(c.rollback_after_apply_ms.median)}` : '-')],
];

function windowTable(record: TrackRecord, counts: Record<string, WindowCounts>): string {
  return table(
    ['WINDOW', ...COLUMNS.map(([name]) => name)],
    record.windows.map((w) => {
      const c = counts[w.name];
      return [w.name, ...COLUMNS.map(([, cell]) => (c ? cell(c) : '-'))];
    }),
  );
}

/** One line per category or target type: its counts over all time. */
function breakdown(title: string, by: Record<string, Record<string, WindowCounts>>): string {
  const rows = Object.entries(by).map(([key, windows]) => {
    const c = windows['all'];
    return [key, ...COLUMNS.map(([, cell]) => (c ? cell(c) : '-'))];
  });
  return rows.length === 0 ? `${title}: none` : table([title, ...COLUMNS.map(([name]) => name)], rows);
}

export function trackRecordView(record: TrackRecord): string {
  const { trust } = record;
  const head = fields([
    ['agent', record.agent_id],
    ['as of', record.as_of],
    ['trust', `${trust.reason} (mode ${trust.mode})`],
  ]);
  return [
    head,
    '',
    windowTable(record, record.overall),
    '',
    breakdown('CATEGORY', record.by_category),
    '',
    breakdown('TARGET TYPE', record.by_target_type),
  ].join('\n');
}

export function registerAgentCommands(program: Command): void {
  const agent = connectionOptions(program.command('agent').description("agents' track records (over HTTP)"));
  jsonOption(
    agent
      .command('track-record <id>')
      .description('what became of the agent’s change-sets, per window, category and target type, and its trust'),
  ).action(async (id: string, o: { json?: boolean }, cmd: Command) => {
    const result: TrackRecord = await clientOf(cmd).trackRecord(id);
    printResult(result, o.json, () => trackRecordView(result));
  });
}
