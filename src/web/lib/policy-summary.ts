// The policy results in one line: how many policies were evaluated, how many applied, and with
// which effects ("4 policies evaluated, 2 applied: 1 require approval, 1 warn").
import type { PolicyEvaluation } from './types.js';

export interface PolicySummary {
  sentence: string;
  /** Evaluations whose rule matched: the ones that did something. */
  applied: PolicyEvaluation[];
  /** The others, folded away. */
  rest: PolicyEvaluation[];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const EFFECT_ORDER: PolicyEvaluation['effect'][] = ['deny', 'require_approval', 'warn'];

export function summarizePolicies(evaluations: readonly PolicyEvaluation[]): PolicySummary {
  const applied = evaluations.filter((e) => e.matched);
  const rest = evaluations.filter((e) => !e.matched);
  const policies = new Set(evaluations.map((e) => e.policy)).size;
  const matchedPolicies = new Map<string, PolicyEvaluation['effect']>();
  for (const e of applied) matchedPolicies.set(e.policy, e.effect);
  const effects = EFFECT_ORDER.flatMap((effect) => {
    const n = [...matchedPolicies.values()].filter((e) => e === effect).length;
    return n > 0 ? [`${n} ${effect.replace('_', ' ')}`] : [];
  });
  const sentence =
    `${plural(policies, 'policy', 'policies')} evaluated, ${matchedPolicies.size} applied` +
    (effects.length > 0 ? `: ${effects.join(', ')}` : '');
  return { sentence, applied, rest };
}
