// Before and after of one target side by side, changed lines marked (− and +, not colour alone),
// and the RFC 6902 operations that lead from one to the other.
import { diffLines, prettyJson } from '../lib/json-diff.js';
import type { Json, PatchOperation, PlanState } from '../lib/types.js';

const ABSENT = '(absent)';

const lines = (side: PlanState | null) => (side?.present ? prettyJson(side.state as Json) : [ABSENT]);
const caption = (name: string, side: PlanState | null) =>
  side?.present ? `${name} (version ${side.version})` : `${name} (absent)`;

const MARK = { same: [' ', ' '], changed: ['−', '+'], removed: ['−', ' '], added: [' ', '+'] } as const;

export function DiffTable({
  before,
  after,
  label,
}: {
  before: PlanState | null;
  after: PlanState | null;
  label: string;
}) {
  const rows = diffLines(lines(before), lines(after));
  return (
    <div className="diff-scroll">
      <table className="diff">
        <caption className="visually-hidden">{label}</caption>
        <colgroup>
          <col className="diff-mark-col" />
          <col />
          <col className="diff-mark-col" />
          <col />
        </colgroup>
        <thead>
          <tr>
            <th scope="col" colSpan={2}>
              {caption('Before', before)}
            </th>
            <th scope="col" colSpan={2}>
              {caption('After', after)}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => {
            const [left, right] = MARK[row.kind];
            const gone = row.kind === 'removed' || row.kind === 'changed';
            const came = row.kind === 'added' || row.kind === 'changed';
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows are positions in a fixed diff
              <tr key={index} className={`diff-${row.kind}`}>
                <td className="diff-mark" aria-hidden="true">
                  {row.before === null ? '' : left}
                </td>
                <td className={`diff-line${gone ? ' diff-del' : ''}`}>
                  {row.before === null ? null : gone ? <del>{row.before}</del> : row.before}
                </td>
                <td className="diff-mark" aria-hidden="true">
                  {row.after === null ? '' : right}
                </td>
                <td className={`diff-line${came ? ' diff-ins' : ''}`}>
                  {row.after === null ? null : came ? <ins>{row.after}</ins> : row.after}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

const show = (value: Json | undefined) => (value === undefined ? '' : JSON.stringify(value));

export function PatchList({ patch }: { patch: PatchOperation[] }) {
  if (patch.length === 0) return <p className="muted">No change to the state.</p>;
  return (
    <ol className="patch">
      {patch.map((op, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: operations are positions in a patch
        <li key={index}>
          <span className={`patch-op patch-${op.op}`}>{op.op}</span> <code>{op.path || '/'}</code>
          {op.from !== undefined && (
            <>
              {' '}
              from <code>{op.from}</code>
            </>
          )}
          {op.value !== undefined && (
            <>
              {' '}
              = <code className="patch-value">{show(op.value)}</code>
            </>
          )}
        </li>
      ))}
    </ol>
  );
}
