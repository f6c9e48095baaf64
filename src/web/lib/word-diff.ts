// Which words of a changed line changed: a word-level diff of the two sides of a changed row, so
// that the reader sees "log": false → true, not just two whole lines.
export interface Segment {
  text: string;
  changed: boolean;
}

/** Beyond this many tokens a side the line counts as changed as a whole (the table is quadratic). */
const MAX_TOKENS = 400;

/** Words, runs of spaces and single punctuation marks: joined again they give the line back. */
export const tokens = (line: string): string[] => line.match(/\s+|[\p{L}\p{N}_./@:-]+|[^\s\p{L}\p{N}_./@:-]/gu) ?? [];

/** Joins neighbours of the same kind so that a run of changed words is one segment. */
function merge(segments: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const segment of segments) {
    const last = out[out.length - 1];
    if (last && last.changed === segment.changed) last.text += segment.text;
    else if (segment.text) out.push({ ...segment });
  }
  return out;
}

/** The before and after line cut into unchanged and changed segments (longest common subsequence of tokens). */
export function wordDiff(before: string, after: string): { before: Segment[]; after: Segment[] } {
  const a = tokens(before);
  const b = tokens(after);
  if (a.length > MAX_TOKENS || b.length > MAX_TOKENS) {
    return { before: merge([{ text: before, changed: true }]), after: merge([{ text: after, changed: true }]) };
  }
  const width = b.length + 1;
  const table = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      table[i * width + j] =
        a[i] === b[j]
          ? (table[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(table[(i + 1) * width + j] ?? 0, table[i * width + j + 1] ?? 0);
  const left: Segment[] = [];
  const right: Segment[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] ?? '';
    const y = b[j] ?? '';
    if (x === y) {
      left.push({ text: x, changed: false });
      right.push({ text: y, changed: false });
      i++;
      j++;
    } else if ((table[(i + 1) * width + j] ?? 0) >= (table[i * width + j + 1] ?? 0)) {
      left.push({ text: x, changed: true });
      i++;
    } else {
      right.push({ text: y, changed: true });
      j++;
    }
  }
  for (; i < a.length; i++) left.push({ text: a[i] ?? '', changed: true });
  for (; j < b.length; j++) right.push({ text: b[j] ?? '', changed: true });
  // A space between two changed words reads as part of the change.
  return { before: merge(left), after: merge(right) };
}
