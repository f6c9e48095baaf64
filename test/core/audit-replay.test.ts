// What audit entries replay to: the status (each step checked against the lifecycle table), the
// approval rows, the versions written, and principals and tokens of the system chain.
import { describe, expect, it } from 'vitest';
import { replayChangeSet, replaySystem, stateDigest, writtenVersions } from '../../src/core/audit-replay.js';
import type { Json } from '../../src/core/types.js';

type Step = [action: string, data?: Json, actor?: string];

const entries = (steps: readonly Step[]) =>
  steps.map(([action, data = {}, actor = 'Agent-D'], i) => ({
    chain_seq: i + 1,
    at: `2026-11-25T10:00:0${i}.000Z`,
    actor,
    action,
    data,
  }));

const H = 'sha256:aa';
const create: Step = ['create', { status: 'DRAFT' }];
const submit: Step = ['submit', { status: 'PENDING_APPROVAL' }];
const approve: Step = ['decision', { decision: 'APPROVED', content_hash: H }, 'alice'];
const approved: Step = ['transition', { from: 'PENDING_APPROVAL', to: 'APPROVED' }];
const apply: Step = ['apply', { status: 'APPLIED', written: [['CONFIG', 'c', 1, 'd']] }, 'olga'];

describe('replayChangeSet: status and lifecycle', () => {
  it.each<[string, Step[], string | null, string[]]>([
    ['no entries', [], null, []],
    ['create, auto-approve', [['create', { status: 'APPROVED' }], ['auto_approve']], 'APPROVED', []],
    ['a full round', [create, submit, approve, approved, apply], 'APPLIED', []],
    [
      'rejected, reopened, resubmitted',
      [
        create,
        submit,
        ['decision', { decision: 'REJECTED', content_hash: H }, 'alice'],
        ['transition', { from: 'PENDING_APPROVAL', to: 'REJECTED' }],
        ['reopen', { from: 'REJECTED', to: 'DRAFT' }],
        ['edit'],
        submit,
      ],
      'PENDING_APPROVAL',
      [],
    ],
    ['rolled back', [create, submit, approve, approved, apply, ['rollback', { written: [] }]], 'ROLLED_BACK', []],
    ['a failed apply changes nothing', [create, submit, approve, approved, ['apply_failed']], 'APPROVED', []],
    [
      'apply while pending',
      [create, submit, apply],
      'APPLIED',
      [
        'apply at chain position 3 while the audit entries say PENDING_APPROVAL (apply needs APPROVED or PARTIALLY_APPLIED)',
      ],
    ],
    [
      'a transition from a status the chain is not in',
      [create, approved],
      'APPROVED',
      ['transition at chain position 2 from PENDING_APPROVAL while the audit entries say DRAFT'],
    ],
    [
      'a decision on a draft',
      [create, approve],
      'DRAFT',
      ['decision at chain position 2 while the audit entries say DRAFT (approve needs PENDING_APPROVAL)'],
    ],
    ['a chain not starting with create', [submit], 'PENDING_APPROVAL', ['the chain starts with submit, not create']],
  ])('%s', (_, steps, status, problems) => {
    const replayed = replayChangeSet(entries(steps));
    expect(replayed.status).toBe(status);
    expect(replayed.problems.map((p) => p.message)).toEqual(problems);
  });
});

describe('replayChangeSet: approvals and versions', () => {
  it('keeps one current decision per approver, and makes them stale on a return to DRAFT', () => {
    const replayed = replayChangeSet(
      entries([
        create,
        submit,
        approve,
        ['decision', { decision: 'REJECTED', content_hash: H }, 'alice'],
        ['transition', { from: 'PENDING_APPROVAL', to: 'REJECTED' }],
        ['reopen', { from: 'REJECTED', to: 'DRAFT' }],
        submit,
        ['decision', { decision: 'APPROVED', content_hash: 'sha256:bb' }, 'bob'],
      ]),
    );
    expect(replayed.approvals).toEqual([
      {
        approver_id: 'alice',
        decision: 'REJECTED',
        content_hash: H,
        stale: true,
        decided_at: '2026-11-25T10:00:03.000Z',
      },
      {
        approver_id: 'bob',
        decision: 'APPROVED',
        content_hash: 'sha256:bb',
        stale: false,
        decided_at: '2026-11-25T10:00:07.000Z',
      },
    ]);
  });

  it('collects the versions applies and rollbacks wrote; an entry from before they were recorded gives null', () => {
    const rollback: Step = ['rollback', { written: [['CONFIG', 'c', 2, 'e']] }, 'olga'];
    expect(replayChangeSet(entries([create, submit, approve, approved, apply, rollback])).written).toEqual([
      ['CONFIG', 'c', 1, 'd'],
      ['CONFIG', 'c', 2, 'e'],
    ]);
    const legacy: Step = ['apply', { status: 'APPLIED' }, 'olga'];
    expect(replayChangeSet(entries([create, submit, approve, approved, legacy])).written).toBeNull();
  });

  it('digests a written state by its content, and an absent target as absent', () => {
    const history = [
      { target_type: 'CONFIG', target_id: 'c', version: 1, present: true, state: { b: 1, a: [2] } },
      { target_type: 'CONFIG', target_id: 'c', version: 2, present: false, state: { leftover: true } },
    ];
    const [first, second] = writtenVersions(history);
    expect(first).toEqual(['CONFIG', 'c', 1, stateDigest(true, { a: [2], b: 1 })]);
    expect(first![3]).toMatch(/^[0-9a-f]{32}$/);
    expect(second![3]).toBe(stateDigest(false, null));
    expect(stateDigest(true, { a: 1 })).not.toBe(stateDigest(true, { a: 2 }));
  });
});

describe('replaySystem', () => {
  it('gives each principal its kind, groups and active flag, and each token its owner and revocation', () => {
    const system = replaySystem([
      { action: 'principal.create', data: { id: 'bob', kind: 'human', groups: [], active: true } },
      { action: 'token.create', data: { token_id: 't1', principal_id: 'bob' } },
      { action: 'principal.update', data: { id: 'bob', groups: ['operator'] } },
      { action: 'principal.update', data: { id: 'bob', active: false } },
      { action: 'token.revoke', data: { token_id: 't1', principal_id: 'bob' } },
      { action: 'enrolment.redeem', data: { token_id: 't2', principal_id: 'bob' } },
    ]);
    expect(system.principals).toEqual(new Map([['bob', { kind: 'human', groups: ['operator'], active: false }]]));
    expect(system.tokens).toEqual(
      new Map([
        ['t1', { principal_id: 'bob', revoked: true }],
        ['t2', { principal_id: 'bob', revoked: false }],
      ]),
    );
  });
});
