// The actions the dashboard offers: the table of docs/design.md#lifecycle, from the server's own lifecycle rules.
import { describe, expect, it } from 'vitest';
import type { Status } from '../../src/core/types.js';
import { availableActions } from '../../src/web/lib/permissions.js';

const steps = [{ name: 'risk', count: 1, approvers: ['Agent-C', 'sec-lead', 'group:admin'] }];
const who = (id: string, groups: string[] = []) => ({ id, groups, active: true });
const creator = who('Agent-C');
const reviewer = who('sec-lead', ['security']);
const operator = who('olga', ['operator']);
const admin = who('root', ['admin']);
const bystander = who('bob');

const offered = (status: Status, viewer: ReturnType<typeof who>) =>
  availableActions({ status, created_by: 'Agent-C', approval_steps: steps }, viewer);

describe('availableActions', () => {
  it.each<[Status, ReturnType<typeof who>, string[]]>([
    ['DRAFT', creator, ['submit', 'close']],
    ['DRAFT', reviewer, []],
    ['DRAFT', admin, ['close']],
    ['PENDING_APPROVAL', creator, ['withdraw', 'close']],
    ['PENDING_APPROVAL', reviewer, ['approve', 'reject']],
    ['PENDING_APPROVAL', admin, ['approve', 'reject', 'close']],
    ['PENDING_APPROVAL', bystander, []],
    ['APPROVED', creator, ['apply', 'close']],
    ['APPROVED', reviewer, ['reject']],
    ['APPROVED', operator, ['apply']],
    ['APPLIED', creator, ['rollback']],
    ['APPLIED', operator, ['rollback']],
    ['APPLIED', reviewer, []],
    ['PARTIALLY_APPLIED', admin, ['apply', 'rollback']],
    ['REJECTED', creator, ['reopen']],
    ['ROLLED_BACK', creator, ['reopen']],
    ['ROLLED_BACK', admin, []],
  ])('%s, %o → %j', (status, viewer, expected) => {
    expect(offered(status, viewer)).toEqual(expected);
  });

  it('never lets the creator decide, even when the rules name it, nor an inactive principal act', () => {
    expect(offered('PENDING_APPROVAL', creator)).not.toContain('approve');
    expect(offered('PENDING_APPROVAL', { ...reviewer, active: false })).toEqual([]);
  });
});
