// Reading the project's Markdown as GitHub shows it: headings (outside code blocks), the anchors
// GitHub gives them, sections and table rows. Shared by the tests that keep docs/ true.
import { readFileSync } from 'node:fs';

/** The repository's root directory. */
export const REPO_ROOT = new URL('../../', import.meta.url);

export const readDoc = (path: string): string => readFileSync(new URL(path, REPO_ROOT), 'utf8');

export interface Heading {
  level: number;
  text: string;
  line: number;
}

/** The headings of a Markdown text, skipping fenced code blocks (a shell comment is no heading). */
export function headings(markdown: string): Heading[] {
  const found: Heading[] = [];
  let fence: string | null = null;
  markdown.split('\n').forEach((line, index) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (fence === null || marker.startsWith(fence))) {
      fence = fence === null ? marker : null;
      return;
    }
    const heading = fence === null ? /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line) : null;
    if (heading) found.push({ level: heading[1]!.length, text: heading[2]!, line: index + 1 });
  });
  return found;
}

/**
 * GitHub's anchor for a heading: its text without markup, lower-cased, every character but
 * letters, digits, spaces, `-` and `_` dropped, each space a `-`.
 */
export function slug(text: string): string {
  return text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor of a Markdown text; a repeated heading gets `-1`, `-2`, … as on GitHub. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const { text } of headings(markdown)) {
    const base = slug(text);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** The text under a heading, up to the next heading of the same or a higher level. */
export function section(markdown: string, title: string): string {
  const all = headings(markdown);
  const start = all.find((h) => h.text === title);
  if (!start) throw new Error(`no heading "${title}"`);
  const end = all.find((h) => h.line > start.line && h.level <= start.level);
  const lines = markdown.split('\n');
  return lines.slice(start.line, end ? end.line - 1 : lines.length).join('\n');
}

/** The body rows of the first table in `text`, as trimmed cells, keyed by the header's cells. */
export function tableRows(text: string): Record<string, string>[] {
  const lines = text.split('\n');
  const first = lines.findIndex((line) => line.trim().startsWith('|'));
  const end = lines.findIndex((line, i) => i > first && !line.trim().startsWith('|'));
  const rows = (first < 0 ? [] : lines.slice(first, end < 0 ? lines.length : end)).map((line) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((cell) => cell.trim()),
  );
  const [header, separator, ...body] = rows;
  if (!header || !separator?.every((cell) => /^:?-+:?$/.test(cell))) return [];
  return body.map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i] ?? ''])));
}
