// Content binding of decisions (core/decision-binding.ts): If-Match against the version, the
// reviewed content hash against the current one, and the edits since the reviewed content.
import { describe, expect, it } from 'vitest';
import {
  type AuditFact,
  checkDecisionBinding,
  staleContentEdits,
  staleContentError,
} from '../../src/core/decision-binding.js';
import { LedgerError } from '../../src/core/errors.js';

const H1 = `sha256:${'1'.repeat(64)}`;
const H2 = `sha256:${'2'.repeat(64)}`;
const H3 = `sha256:${'3'.repeat(64)}`;
const current = {
  change_set_id: 'CS-1',
  version: 7,
  content_hash: H3,
  updated_at: '2026-11-25T10:05:00.000Z',
  updated_by: 'Agent-A',
};

describe('checkDecisionBinding', () => {
  it.each([
    ['nothing expected', {}, false],
    ['the current version', { ifVersion: 7 }, false],
    ['the current hash', { contentHash: H3 }, false],
    ['no hash (null)', { contentHash: null }, false],
    ['another hash', { contentHash: H1 }, true],
    ['the current version and another hash', { ifVersion: 7, contentHash: H1 }, true],
  ])('%s → stale %s', (_, expected, stale) => {
    expect(checkDecisionBinding(current, expected)).toEqual({ stale });
  });

  it('refuses another version with 412, whatever the hash', () => {
    for (const contentHash of [undefined, H3, H1]) {
      expect(() => checkDecisionBinding(current, { ifVersion: 3, contentHash })).toThrowError(
        new LedgerError('PRECONDITION_FAILED', 'change-set CS-1 is at version 7, not 3: read it again before deciding'),
      );
    }
  });
});

const entry = (action: string, data: AuditFact['data'], actor = 'Agent-A', at = '2026-11-25T10:00:00.000Z') => ({
  action,
  data,
  actor,
  at,
});

describe('staleContentEdits', () => {
  const trail: AuditFact[] = [
    entry('create', { content_hash: H1 }),
    entry('submit', { content_hash: H1 }),
    entry('decision', { decision: 'APPROVED', content_hash: H1 }, 'bob'),
    entry('withdraw', { reason: null }),
    entry('edit', { fields: ['items'], content_hash: H2 }, 'Agent-A', '2026-11-25T10:01:00.000Z'),
    entry('edit', { fields: ['title', 'items'], content_hash: H3 }, 'Agent-B', '2026-11-25T10:02:00.000Z'),
    entry('submit', { content_hash: H3 }),
  ];

  it.each([
    [
      'the first content: both edits',
      H1,
      [
        { at: '2026-11-25T10:01:00.000Z', by: 'Agent-A', fields: ['items'], content_hash: H2 },
        { at: '2026-11-25T10:02:00.000Z', by: 'Agent-B', fields: ['title', 'items'], content_hash: H3 },
      ],
    ],
    [
      'the middle content: the last edit',
      H2,
      [{ at: '2026-11-25T10:02:00.000Z', by: 'Agent-B', fields: ['title', 'items'], content_hash: H3 }],
    ],
    ['the current content: none', H3, []],
    ['a hash never recorded: null', `sha256:${'f'.repeat(64)}`, null],
  ])('%s', (_, seen, edits) => {
    expect(staleContentEdits(trail, seen)).toEqual(edits);
  });
});

describe('staleContentError', () => {
  it('is 409 STALE_CONTENT naming both hashes, the version, who changed it last and the edits', () => {
    const edits = [{ at: '2026-11-25T10:02:00.000Z', by: 'Agent-B', fields: ['title', 'items'], content_hash: H3 }];
    const error = staleContentError(current, H1, edits);
    expect(error.toBody()).toEqual({
      statusCode: 409,
      code: 'STALE_CONTENT',
      error: 'Conflict',
      message:
        `change-set CS-1 is not the content you reviewed (${H1}): edited since: title, items by Agent-B at ` +
        `2026-11-25T10:02:00.000Z. Its content is now ${H3} (version 7, last changed by Agent-A at ` +
        '2026-11-25T10:05:00.000Z): review it again, then decide on that content_hash',
      details: [
        {
          path: 'content_hash',
          message: 'is not the current content hash',
          reviewed_content_hash: H1,
          current_content_hash: H3,
          current_version: 7,
          updated_by: 'Agent-A',
          updated_at: '2026-11-25T10:05:00.000Z',
          edits_since: edits,
        },
      ],
      fix: 'GET the change-set, review the new content and decide again with its content_hash.',
    });
  });

  it("says when the reviewed hash was never this change-set's content", () => {
    expect(staleContentError(current, H2, null).message).toContain(`(${H2}): that hash was never the content of CS-1.`);
  });
});
