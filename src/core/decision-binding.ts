// What a reviewer's decision is bound to: the version they read (If-Match) and the content they
// reviewed (content_hash). A decision on anything else is refused, and the refusal says what changed
// since, so that nobody approves content they did not see. Every adapter (HTTP, CLI, dashboard,
// library) goes through the engine's decide, which applies these rules.

import { LedgerError } from './errors.js';
import type { Json } from './types.js';

/** What the reviewer saw; absent fields bind nothing (the behaviour before content binding). */
export interface DecisionExpectation {
  /** If-Match: the version the reviewer read. */
  ifVersion?: number | undefined;
  /** The `content_hash` of the change-set the reviewer read. */
  contentHash?: string | null | undefined;
}

/** The change-set as the decision would find it. */
export interface DecisionSubject {
  change_set_id: string;
  version: number;
  content_hash: string;
  updated_at: string;
  updated_by: string;
}

/** An edit of the content, from the change-set's audit trail. */
export interface ContentEdit {
  at: string;
  by: string;
  fields: string[];
  content_hash: string;
}

/**
 * Refuses a decision on another version than the one read (412 PRECONDITION_FAILED). Returns
 * whether the content hash the reviewer sent is not the current one: the caller then gathers the
 * edits since (staleContentEdits) and throws staleContentError.
 */
export function checkDecisionBinding(current: DecisionSubject, expected: DecisionExpectation): { stale: boolean } {
  if (expected.ifVersion !== undefined && expected.ifVersion !== current.version) {
    throw new LedgerError(
      'PRECONDITION_FAILED',
      `change-set ${current.change_set_id} is at version ${current.version}, not ${expected.ifVersion}: ` +
        'read it again before deciding',
    );
  }
  const sent = expected.contentHash;
  return { stale: typeof sent === 'string' && sent !== current.content_hash };
}

/** An audit entry as far as content binding needs it. */
export interface AuditFact {
  at: string;
  actor: string;
  action: string;
  data: Json;
}

const hashOf = (entry: AuditFact): unknown =>
  entry.data !== null && typeof entry.data === 'object' && !Array.isArray(entry.data)
    ? entry.data['content_hash']
    : undefined;

/**
 * The edits after the last entry that recorded `seenHash` as the content (create, edit, submit and
 * decisions record it), oldest first; null when no entry ever recorded it (not this change-set's).
 */
export function staleContentEdits(entries: readonly AuditFact[], seenHash: string): ContentEdit[] | null {
  let last = -1;
  for (const [i, entry] of entries.entries()) if (hashOf(entry) === seenHash) last = i;
  if (last < 0) return null;
  return entries
    .slice(last + 1)
    .filter((entry) => entry.action === 'edit')
    .map((entry) => {
      const data = entry.data as { fields?: unknown; content_hash?: unknown };
      return {
        at: entry.at,
        by: entry.actor,
        fields: Array.isArray(data.fields) ? data.fields.map(String) : [],
        content_hash: String(data.content_hash),
      };
    });
}

/** 409 STALE_CONTENT: the hash the reviewer saw against the current one, and what changed since. */
export function staleContentError(
  current: DecisionSubject,
  seenHash: string,
  edits: readonly ContentEdit[] | null,
): LedgerError {
  const since =
    edits === null
      ? `that hash was never the content of ${current.change_set_id}`
      : edits.length === 0
        ? 'its content changed since'
        : `edited since: ${edits.map((e) => `${e.fields.join(', ') || 'content'} by ${e.by} at ${e.at}`).join('; ')}`;
  return new LedgerError(
    'STALE_CONTENT',
    `change-set ${current.change_set_id} is not the content you reviewed (${seenHash}): ${since}. Its content is now ` +
      `${current.content_hash} (version ${current.version}, last changed by ${current.updated_by} at ` +
      `${current.updated_at}): review it again, then decide on that content_hash`,
    [
      {
        path: 'content_hash',
        message: 'is not the current content hash',
        reviewed_content_hash: seenHash,
        current_content_hash: current.content_hash,
        current_version: current.version,
        updated_by: current.updated_by,
        updated_at: current.updated_at,
        edits_since: edits === null ? null : edits.map((e) => ({ ...e })),
      },
    ],
  );
}
