import { describe, expect, it } from 'vitest';
import { ACTIONS, assertLeadsTo, LIFECYCLE } from '../../src/core/lifecycle.js';
import { STATUSES } from '../../src/core/types.js';

describe('assertLeadsTo (the `to` column of the lifecycle table)', () => {
  it('allows exactly the statuses each action may lead to', () => {
    for (const action of ACTIONS) {
      for (const status of STATUSES) {
        const allowed = LIFECYCLE[action].to.includes(status);
        if (allowed) expect(() => assertLeadsTo(action, status), `${action} → ${status}`).not.toThrow();
        else expect(() => assertLeadsTo(action, status), `${action} → ${status}`).toThrow(`${action} may lead to`);
      }
    }
  });

  it('refuses what no action does: submit to APPLIED, rollback to DRAFT, approve to REJECTED', () => {
    expect(() => assertLeadsTo('submit', 'APPLIED')).toThrow(
      'submit may lead to PENDING_APPROVAL or APPROVED, not APPLIED',
    );
    expect(() => assertLeadsTo('rollback', 'DRAFT')).toThrow('not DRAFT');
    expect(() => assertLeadsTo('approve', 'REJECTED')).toThrow('not REJECTED');
  });
});
