// Policy-as-code: CEL conditions with an effect. Compiled once (a condition that does not compile
// stops the start), evaluated per action; a condition that fails to evaluate counts as deny.
import { Environment } from '@marcbachmann/cel-js';
import type { ApprovalStep, PolicyEvaluation } from './types.js';

export const POLICY_EFFECTS = ['deny', 'require_approval', 'warn'] as const;
export type PolicyEffect = (typeof POLICY_EFFECTS)[number];
export const POLICY_ACTIONS = ['create', 'submit', 'apply', 'rollback'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];
/** `enforce`: the effect applies. `shadow`: evaluated and recorded, without effect (docs/policies.md#shadow-mode). */
export const POLICY_MODES = ['enforce', 'shadow'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

export interface PolicyDefinition {
  name: string;
  condition: string;
  effect: PolicyEffect;
  /** Default: every action. */
  actions?: readonly PolicyAction[] | undefined;
  /** require_approval: who may give the step's approvals (principal ids or `group:NAME`). */
  approvers?: readonly string[] | undefined;
  /** require_approval: how many (default 1). */
  count?: number | undefined;
  message?: string | undefined;
  /** Default: enforce. */
  mode?: PolicyMode | undefined;
}

export interface CompiledPolicy {
  name: string;
  condition: string;
  effect: PolicyEffect;
  mode: PolicyMode;
  actions: readonly PolicyAction[];
  approvers: readonly string[];
  count: number;
  message: string | null;
  test: (variables: PolicyVariables) => unknown;
}

export interface PolicyVariables {
  change_set: Record<string, unknown>;
  items: readonly Record<string, unknown>[];
  principal: Record<string, unknown>;
  action: PolicyAction;
  now: Date;
}

export class PolicyCompileError extends Error {
  override name = 'PolicyCompileError';
  constructor(
    readonly policy: string,
    detail: string,
  ) {
    super(`policy ${policy} does not compile: ${detail}`);
  }
}

const environment = new Environment()
  .registerVariable('change_set', 'map')
  .registerVariable('items', 'list')
  .registerVariable('principal', 'map')
  .registerVariable('action', 'string')
  .registerVariable('now', 'google.protobuf.Timestamp');

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

export function compilePolicy(definition: PolicyDefinition): CompiledPolicy {
  const checked = environment.check(definition.condition);
  if (!checked.valid) throw new PolicyCompileError(definition.name, firstLine(checked.error));
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    throw new PolicyCompileError(definition.name, `the condition must be a boolean expression, not ${checked.type}`);
  }
  const test = environment.parse(definition.condition) as unknown as (variables: PolicyVariables) => unknown;
  return {
    name: definition.name,
    condition: definition.condition,
    effect: definition.effect,
    mode: definition.mode ?? 'enforce',
    actions: definition.actions ?? POLICY_ACTIONS,
    approvers: definition.approvers ?? [],
    count: definition.count ?? 1,
    message: definition.message ?? null,
    test,
  };
}

/** Compiles every policy; the first that does not compile stops everything, naming it. */
export function compilePolicies(definitions: readonly PolicyDefinition[]): CompiledPolicy[] {
  const names = new Set<string>();
  return definitions.map((definition) => {
    if (names.has(definition.name)) throw new PolicyCompileError(definition.name, 'the name is used by another policy');
    names.add(definition.name);
    return compilePolicy(definition);
  });
}

export interface PolicyOutcome {
  /** One per policy that applies to the action, matched or not. */
  evaluations: PolicyEvaluation[];
  denials: PolicyEvaluation[];
  warnings: PolicyEvaluation[];
  /** Approval steps added by matched require_approval policies. */
  steps: ApprovalStep[];
  /**
   * What the policies in shadow mode would have done had they been enforced: an outcome of its own,
   * computed the same way, which the action records and otherwise ignores.
   */
  shadow?: PolicyOutcome;
}

export const NO_POLICY_OUTCOME: Readonly<PolicyOutcome> = Object.freeze({
  evaluations: [],
  denials: [],
  warnings: [],
  steps: [],
});

function evaluateOne(policy: CompiledPolicy, variables: PolicyVariables, at: string): PolicyEvaluation {
  let result: unknown;
  let failure: string | null = null;
  try {
    result = policy.test(variables);
    if (typeof result !== 'boolean') failure = `the condition gave ${typeof result}, not a boolean`;
  } catch (error) {
    failure = firstLine(error);
  }
  if (failure !== null) {
    // Fail closed: a condition that cannot be evaluated denies.
    const message = `condition failed to evaluate (denied): ${failure}`;
    return { policy: policy.name, action: variables.action, effect: 'deny', matched: true, message, evaluated_at: at };
  }
  const matched = result === true;
  const message = matched ? policy.message : null;
  return { policy: policy.name, action: variables.action, effect: policy.effect, matched, message, evaluated_at: at };
}

/**
 * Precedence deny > require_approval > warn: denials win; steps and warnings are still reported.
 * Policies in shadow mode are evaluated apart, into `shadow`, as if they alone were enforced.
 */
export function evaluatePolicies(
  policies: readonly CompiledPolicy[],
  variables: PolicyVariables,
  at: string,
): PolicyOutcome {
  const enforced = policies.filter((policy) => policy.mode === 'enforce');
  const outcome = evaluateEnforced(enforced, variables, at);
  if (enforced.length === policies.length) return outcome;
  const shadow = evaluateEnforced(
    policies.filter((policy) => policy.mode === 'shadow'),
    variables,
    at,
  );
  return shadow.evaluations.length > 0 ? { ...outcome, shadow } : outcome;
}

function evaluateEnforced(policies: readonly CompiledPolicy[], variables: PolicyVariables, at: string): PolicyOutcome {
  const outcome: PolicyOutcome = { evaluations: [], denials: [], warnings: [], steps: [] };
  for (const policy of policies) {
    if (!policy.actions.includes(variables.action)) continue;
    const evaluation = evaluateOne(policy, variables, at);
    outcome.evaluations.push(evaluation);
    if (!evaluation.matched) continue;
    if (evaluation.effect === 'deny') outcome.denials.push(evaluation);
    else if (evaluation.effect === 'warn') outcome.warnings.push(evaluation);
    else
      outcome.steps.push({
        name: policy.name,
        count: policy.count,
        approvers: [...policy.approvers],
        message: policy.message ?? undefined,
      });
  }
  return outcome;
}

/** The steps of matched require_approval policies among stored evaluations. */
export function stepsOf(policies: readonly CompiledPolicy[], evaluations: readonly PolicyEvaluation[]): ApprovalStep[] {
  const matched = new Set(evaluations.filter((e) => e.matched && e.effect === 'require_approval').map((e) => e.policy));
  return policies
    .filter((p) => p.mode === 'enforce' && p.effect === 'require_approval' && matched.has(p.name))
    .map((p) => ({ name: p.name, count: p.count, approvers: [...p.approvers], message: p.message ?? undefined }));
}

/** What an evaluation would have done had its policy been enforced: null when it did not match. */
export type ShadowEffect = PolicyEffect | null;

/** Each evaluation of a shadow outcome with what enforcing its policy would have done. */
export function shadowEffects(outcome: PolicyOutcome): { evaluation: PolicyEvaluation; would: ShadowEffect }[] {
  const denied = new Set(outcome.denials.map((e) => e.policy));
  return outcome.evaluations.map((evaluation) => ({
    evaluation,
    would: !evaluation.matched ? null : denied.has(evaluation.policy) ? 'deny' : evaluation.effect,
  }));
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();
/** The last second formatted per zone: evaluations within one second share the text. */
const lastText = new Map<string, { second: number; text: string }>();

function zoneText(date: Date, zone: string): string {
  const second = Math.floor(date.getTime() / 1000);
  const last = lastText.get(zone);
  if (last?.second === second) return last.text;
  let format = zoneFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zoneFormats.set(zone, format);
  }
  const text = format.format(date);
  lastText.set(zone, { second, text });
  return text;
}

/**
 * The `now` a condition sees. cel-js computes time-zone accessors (now.getHours("Europe/Berlin"))
 * through Date#toLocaleString, which builds a formatter on every call (~100 µs); this Date answers
 * that one call shape from a formatter cached per zone (and the last second's text), with the
 * same text.
 */
export function celTimestamp(date: Date): Date {
  const now = new Date(date.getTime());
  Object.defineProperty(now, 'toLocaleString', {
    value(this: Date, locales?: string, options?: Intl.DateTimeFormatOptions): string {
      const zone = options?.timeZone;
      if (locales !== 'en-US' || !zone || Object.keys(options).length !== 1) {
        return Date.prototype.toLocaleString.call(this, locales, options);
      }
      return zoneText(this, zone);
    },
  });
  return now;
}
