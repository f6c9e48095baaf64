// Before and after of one target: side by side on a wide screen, unified (one column) on a narrow
// one; changed lines marked (− and +, not colour alone) and, inside a changed line, the words that
// changed. A target that comes into being or goes away is shown as its whole state, not as a diff.
import { diffLines, prettyJson } from '../lib/json-diff.js';
import type { Json, PatchOperation, PlanState } from '../lib/types.js';
import { useNarrow } from '../lib/use-narrow.js';
import { type Segment, wordDiff } from '../lib/word-diff.js';

const ABSENT = '(absent)';

const lines = (side: PlanState | null) => (side?.present ? prettyJson(side.state as Json) : [ABSENT]);
const caption = (name: string, side: PlanState | null) =>
  side?.present ? `${name} (version ${side.version})` : `${name} (absent)`;

const MARK = { same: [' ', ' '], changed: ['−', '+'], removed: ['−', ' '], added: [' ', '+'] } as const;

/** A line whose changed words are marked; `Tag` (del or ins) wraps the whole line. */
function Marked({ segments, tag: Tag }: { segments: Segment[]; tag: 'del' | 'ins' }) {
  return (
    <Tag>
      {segments.map((segment, index) =>
        segment.changed ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: segments are positions in a line
          <span key={index} className="word-changed">
            {segment.text}
          </span>
        ) : (
          segment.text
        ),
      )}
    </Tag>
  );
}

interface Cell {
  mark: string;
  line: string | null;
  kind: 'same' | 'del' | 'ins';
  segments?: Segment[];
}

function LineCells({ cell }: { cell: Cell }) {
  const { line, kind, segments } = cell;
  return (
    <>
      <td className="diff-mark" aria-hidden="true">
        {line === null ? '' : cell.mark}
      </td>
      <td className={`diff-line${kind === 'same' ? '' : ` diff-${kind}`}`}>
        {line === null ? null : kind === 'same' ? (
          line
        ) : (
          <Marked segments={segments ?? [{ text: line, changed: false }]} tag={kind} />
        )}
      </td>
    </>
  );
}

/** The rows of the diff as cells: per row a before and an after cell, words marked in changed rows. */
function cellsOf(before: PlanState | null, after: PlanState | null): [Cell, Cell, string][] {
  return diffLines(lines(before), lines(after)).map((row) => {
    const [left, right] = MARK[row.kind];
    const words =
      row.kind === 'changed' && row.before !== null && row.after !== null ? wordDiff(row.before, row.after) : null;
    const gone = row.kind === 'removed' || row.kind === 'changed';
    const came = row.kind === 'added' || row.kind === 'changed';
    return [
      { mark: left, line: row.before, kind: gone ? 'del' : 'same', ...(words ? { segments: words.before } : {}) },
      { mark: right, line: row.after, kind: came ? 'ins' : 'same', ...(words ? { segments: words.after } : {}) },
      row.kind,
    ];
  });
}

/** One column: an unchanged line once, a changed one as its removed line then its added line. */
const unifiedRows = (rows: [Cell, Cell, string][]): [Cell, string][] =>
  rows.flatMap(([left, right, kind]): [Cell, string][] =>
    kind === 'same'
      ? [[right, 'same']]
      : [
          ...(left.line === null ? [] : [[left, 'removed'] as [Cell, string]]),
          ...(right.line === null ? [] : [[right, 'added'] as [Cell, string]]),
        ],
  );

/** One column of lines under one heading: a unified diff, or a whole state. */
function OneColumn(props: { className: string; label: string; title: string; rows: [Cell, string][] }) {
  return (
    <div className="diff-scroll">
      <table className={`diff ${props.className}`}>
        <caption className="visually-hidden">{props.label}</caption>
        <colgroup>
          <col className="diff-mark-col" />
          <col />
        </colgroup>
        <thead>
          <tr>
            <th scope="col" colSpan={2}>
              {props.title}
            </th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map(([cell, kind], index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows are positions in a fixed diff
            <tr key={index} className={`diff-${kind}`}>
              <LineCells cell={cell} />
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A whole state that came into being (CREATE) or went away (DELETE). */
function StateTable({ side, kind, label }: { side: PlanState; kind: 'ins' | 'del'; label: string }) {
  const mark = kind === 'ins' ? '+' : '−';
  return (
    <OneColumn
      className={`diff-state diff-state-${kind}`}
      label={label}
      title={`${kind === 'ins' ? 'New state' : 'Removed state'} (version ${side.version})`}
      rows={lines(side).map((line): [Cell, string] => [{ mark, line, kind }, kind === 'ins' ? 'added' : 'removed'])}
    />
  );
}

export function DiffTable({
  before,
  after,
  label,
}: {
  before: PlanState | null;
  after: PlanState | null;
  label: string;
}) {
  const narrow = useNarrow();
  if (!before?.present && after?.present) return <StateTable side={after} kind="ins" label={label} />;
  if (before?.present && after && !after.present) return <StateTable side={before} kind="del" label={label} />;
  const rows = cellsOf(before, after);
  if (narrow)
    return (
      <OneColumn
        className="diff-unified"
        label={label}
        title={`${caption('Before', before)} → ${caption('after', after)}`}
        rows={unifiedRows(rows)}
      />
    );
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
          {rows.map(([left, right, kind], index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows are positions in a fixed diff
            <tr key={index} className={`diff-${kind}`}>
              <LineCells cell={left} />
              <LineCells cell={right} />
            </tr>
          ))}
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
