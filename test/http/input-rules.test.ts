// The input rules are written once (core/input-rules.ts): the HTTP schemas that refuse early and
// the core validation that names each problem must accept and refuse the same values.
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { CATEGORY_PATTERN, ID_PATTERN, MAX_ENTRIES, MAX_LENGTH } from '../../src/core/input-rules.js';
import { parseDecision, parseReason } from '../../src/core/validate-actions.js';
import { validateCreateChangeSet } from '../../src/core/validate-change-set.js';
import { CreateBody, DecisionBody, PrincipalBody, ReasonBody } from '../../src/http/schemas.js';

const limits = { max_items: 10 };
const valid = {
  change_set_id: 'cs-1',
  title: 'A title',
  agent_type: 'bot',
  items: [{ operation_type: 'CREATE', target_type: 'PAGE', target_id: 'home', after_state: {} }],
};

/** Whether the HTTP schema accepts the body, and whether core does. */
function verdicts(body: Record<string, unknown>): [boolean, boolean] {
  return [Value.Check(CreateBody, body), validateCreateChangeSet(body, limits).ok];
}

const item = (fields: Record<string, unknown>) => ({ ...valid, items: [{ ...valid.items[0], ...fields }] });

describe('HTTP schemas and core validation share one set of input rules', () => {
  it('accepts the valid body on both sides', () => {
    expect(verdicts(valid)).toEqual([true, true]);
  });

  it.each([
    ['change_set_id', 'cs.1_a-B', true],
    ['change_set_id', 'x'.repeat(64), true],
    ['change_set_id', 'x'.repeat(65), false],
    ['change_set_id', 'cs 1', false],
    ['change_set_id', 'cs/1', false],
    ['agent_id', 'agent-7', true],
    ['agent_id', 'agent:7', false],
    ['category', 'UI_LAYOUT', true],
    ['category', `A${'B'.repeat(63)}`, true],
    ['category', `A${'B'.repeat(64)}`, false],
    ['category', 'ui_layout', false],
    ['category', '1ABC', false],
    ['approval_chain', ['alice', 'group.x'], true],
    ['approval_chain', ['alice bob'], false],
  ])('%s %j: both accept = %s', (field, value, accepted) => {
    expect(verdicts({ ...valid, [field]: value })).toEqual([accepted, accepted]);
  });

  it.each(
    (['title', 'description', 'agent_type'] as const).flatMap((field) => [
      [field, MAX_LENGTH[field], true],
      [field, MAX_LENGTH[field] + 1, false],
    ]),
  )('%s of %i characters: both accept = %s', (field, length, accepted) => {
    expect(verdicts({ ...valid, [field]: 'x'.repeat(length as number) })).toEqual([accepted, accepted]);
  });

  it.each([
    ['key', MAX_LENGTH.item_key],
    ['target_type', MAX_LENGTH.target_type],
    ['target_id', MAX_LENGTH.target_id],
  ] as const)('item %s: both accept %i characters and refuse one more', (field, max) => {
    expect(verdicts(item({ [field]: 'x'.repeat(max) }))).toEqual([true, true]);
    expect(verdicts(item({ [field]: 'x'.repeat(max + 1) }))).toEqual([false, false]);
  });

  it('tags: both take the longest tag and the most tags, and refuse one more', () => {
    const tag = 'x'.repeat(MAX_LENGTH.tag);
    expect(verdicts({ ...valid, tags: [tag] })).toEqual([true, true]);
    expect(verdicts({ ...valid, tags: [`${tag}x`] })).toEqual([false, false]);
    const many = Array.from({ length: MAX_ENTRIES.tags }, (_, i) => `t${i}`);
    expect(verdicts({ ...valid, tags: many })).toEqual([true, true]);
    expect(verdicts({ ...valid, tags: [...many, 'one-more'] })).toEqual([false, false]);
  });

  it('approval_chain: both take the most entries and refuse one more', () => {
    const chain = Array.from({ length: MAX_ENTRIES.approval_chain }, (_, i) => `p${i}`);
    expect(verdicts({ ...valid, approval_chain: chain })).toEqual([true, true]);
    expect(verdicts({ ...valid, approval_chain: [...chain, 'one-more'] })).toEqual([false, false]);
  });

  it('reason: both take the longest and refuse one more character', () => {
    const accepts = (reason: string) => {
      let core = true;
      try {
        parseReason({ reason });
      } catch {
        core = false;
      }
      return [Value.Check(ReasonBody, { reason }), core];
    };
    expect(accepts('r'.repeat(MAX_LENGTH.reason))).toEqual([true, true]);
    expect(accepts('r'.repeat(MAX_LENGTH.reason + 1))).toEqual([false, false]);
  });

  it.each([
    [`sha256:${'a'.repeat(64)}`, true],
    [`sha256:${'A'.repeat(64)}`, false],
    [`sha256:${'a'.repeat(63)}`, false],
    ['a'.repeat(64), false],
  ])('content_hash %s: both accept = %s', (hash, accepted) => {
    let core = true;
    try {
      parseDecision({ decision: 'APPROVED', content_hash: hash });
    } catch {
      core = false;
    }
    expect([Value.Check(DecisionBody, { decision: 'APPROVED', content_hash: hash }), core]).toEqual([
      accepted,
      accepted,
    ]);
  });

  it('publishes the very patterns core tests', () => {
    const patternOf = (schema: { properties: Record<string, unknown> }, key: string) =>
      (schema.properties[key] as { pattern?: string }).pattern;
    expect(patternOf(CreateBody, 'change_set_id')).toBe(ID_PATTERN.source);
    expect(patternOf(PrincipalBody, 'id')).toBe(ID_PATTERN.source);
    expect(patternOf(CreateBody, 'category')).toBe(CATEGORY_PATTERN.source);
  });
});
