// The worked risk examples of docs/design.md#worked-examples are computed, not copied: each row is
// turned back into a change-set and scored with the real risk model and its defaults, so a
// change of the model, or of its defaults, that the page does not follow fails here.
import { describe, expect, it } from 'vitest';
import { assessRisk, type RiskSubject } from '../../src/core/risk.js';
import { readDoc, section, tableRows } from './markdown.js';

const examples = tableRows(section(readDoc('docs/design.md'), 'Worked examples'));

const unquote = (cell: string): string => cell.replace(/`/g, '');

/** `3 × UPDATE DESIGN_TOKEN `tokens.color-*` + 1 × CREATE …` → the items; `*` numbers each id. */
function itemsOf(cell: string): RiskSubject['items'] {
  return unquote(cell)
    .split(' + ')
    .flatMap((group) => {
      const match = /^(\d+) × (\w+) (\S+) (\S+)$/.exec(group.trim());
      if (!match) throw new Error(`cannot read the items "${group}"`);
      const [, count, operation_type, target_type, id] = match as unknown as [string, string, string, string, string];
      return Array.from({ length: Number(count) }, (_, i) => ({
        operation_type,
        target_type,
        target_id: id.replace('*', String(i + 1)),
      }));
    });
}

describe('docs/design.md worked risk examples', () => {
  it('has examples covering every level, with and without auto-approval', () => {
    expect(new Set(examples.map((row) => row['level']))).toEqual(new Set(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']));
    expect(new Set(examples.map((row) => row['auto-approved']))).toEqual(new Set(['yes', 'no']));
  });

  it.each(examples.map((row) => [`${unquote(row['agent']!)} ${unquote(row['items']!)}`, row] as const))(
    '%s scores as the page says',
    (_name, row) => {
      const risk = assessRisk({
        agent_id: unquote(row['agent']!),
        agent_risk: null,
        category: unquote(row['category']!),
        items: itemsOf(row['items']!),
      });
      expect({
        factors: risk.factors,
        score: risk.score,
        level: risk.level,
        auto_approve: risk.auto_approve,
        required_approvals: risk.required_approvals,
        recommendations: risk.recommendations.length,
      }).toEqual({
        factors: {
          operation: Number(row['operation']),
          target: Number(row['target']),
          agent: Number(row['agent risk']),
          scope: Number(row['scope']),
          quantity: Number(row['quantity']),
        },
        score: Number(row['score']),
        level: row['level'],
        auto_approve: row['auto-approved'] === 'yes',
        required_approvals: Number(row['required']),
        recommendations: Number(row['recommendations']),
      });
    },
  );
});
