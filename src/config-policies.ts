// The `policies` section: shape in config-schema.ts; here the rules a schema cannot say, and
// compilation (an expression that does not compile stops the start, naming the policy).

import type { Problem } from './core/config-kit.js';
import { compilePolicy, PolicyCompileError, type PolicyDefinition } from './core/policy.js';

export function policyProblems(policies: readonly PolicyDefinition[] | undefined): Problem[] {
  const problems: Problem[] = [];
  const names = new Map<string, number>();
  (policies ?? []).forEach((policy, index) => {
    const at = (key: string) => `policies[${index}]${key ? `.${key}` : ''}`;
    const earlier = names.get(policy.name);
    if (earlier !== undefined)
      problems.push({ path: at('name'), message: `${policy.name} is already the name of policies[${earlier}]` });
    names.set(policy.name, index);
    const approving = policy.effect === 'require_approval';
    if (approving && !policy.approvers?.length)
      problems.push({
        path: at('approvers'),
        message: 'require_approval needs approvers (principal ids or group:NAME)',
      });
    if (!approving && (policy.approvers !== undefined || policy.count !== undefined)) {
      problems.push({
        path: at(policy.approvers !== undefined ? 'approvers' : 'count'),
        message: `only require_approval takes approvers and count, this policy is ${policy.effect}`,
      });
    }
    try {
      compilePolicy(policy);
    } catch (error) {
      const message = error instanceof PolicyCompileError ? error.message : String(error);
      problems.push({ path: at('condition'), message });
    }
  });
  return problems;
}
