// Risk assessment (docs/design.md#risk-model): five factors, a weighted score, a level, the approvals the score
// asks for, and whether the change-set may skip review. Pure: every input is passed in.

import { Type } from 'typebox';
import { bool, defaultsOf, list, map, num, type Resolved, row, section, str } from './config-kit.js';
import { deepFreeze } from './deep-freeze.js';
import { type TrustConfig, type TrustHistory, trustExemption, trustStanding } from './trust.js';
import type { RiskAssessment, RiskFactors, RiskLevel, RiskOutcome, RiskTrust } from './types.js';

const AUTO_APPROVE_BOUNDS = {
  operation_below: num(20),
  target_below: num(15),
  scope_below: num(25),
  quantity_below: num(10),
};

/**
 * The risk model, declared once with its defaults (the `risk` section of docs/configuration.md).
 * Numbers are only type-checked here; their ranges and the rules across keys are
 * validateRiskConfig's, checked on the merged model.
 */
export const RiskSchema = section({
  operation: section({
    scores: map(num(), { DELETE: 30, RESET: 30, CLEAR: 30, UPDATE: 10 }),
    default: num(5),
    cap: num(100),
  }),
  target: section({
    sensitive_types: list(str(), ['SYSTEM', 'SECURITY', 'POLICY']),
    sensitive_type_score: num(40),
    protected_prefixes: list(str(), ['system.', 'security.', 'admin.']),
    protected_prefix_score: num(35),
    cap: num(100),
  }),
  /** The file's top-level `agents` section. */
  agents: map(num(), { 'Agent-A': 15, 'Agent-B': 20, 'Agent-C': 35, 'Agent-D': 25 }),
  agent_default: num(30),
  scope: section({
    high_impact: list(str(), ['INFRASTRUCTURE', 'SECURITY', 'COMPLIANCE']),
    high_impact_score: num(50),
    categories: map(num(), { UI_LAYOUT: 15, API_CHANGE: 35, CONFIG_UPDATE: 25, DESIGN_SYSTEM: 20 }),
    default: num(30),
  }),
  quantity: section({
    thresholds: list(row({ max_items: num(), score: num() }), [
      { max_items: 5, score: 5 },
      { max_items: 10, score: 15 },
      { max_items: 20, score: 25 },
      { max_items: 50, score: 40 },
    ]),
    above: num(50),
  }),
  weights: section({ operation: num(0.3), target: num(0.35), agent: num(0.15), scope: num(0.15), quantity: num(0.05) }),
  levels: section({ critical: num(70), high: num(50), medium: num(30) }),
  approvals: section({ critical: num(3), high: num(2), medium: num(1), low: num(0) }),
  /** `enabled` is the file's `approval.auto_approve`. */
  auto_approve: section({ enabled: bool(true), ...AUTO_APPROVE_BOUNDS }),
  recommendations: list(
    // Any string in the file, so validateRiskConfig can name the wrong one; a factor name once valid.
    row({ factor: Type.Unsafe<keyof RiskFactors>(str()), above: num(), message: str() }),
    [
      {
        factor: 'operation',
        above: 50,
        message: 'Consider breaking down high-risk operations into smaller change-sets',
      },
      { factor: 'target', above: 40, message: 'Additional security review recommended for sensitive targets' },
      { factor: 'quantity', above: 30, message: 'Consider batching operations to reduce scope' },
    ],
  ),
});

const { agents: _agents, ...riskFileKeys } = RiskSchema.properties;

/** The file's `risk` section: the model without `agents` and `auto_approve.enabled`, which live elsewhere. */
export const RiskSection = section({ ...riskFileKeys, auto_approve: section(AUTO_APPROVE_BOUNDS) });

export type RiskConfig = Resolved<typeof RiskSchema>;

export interface RiskSubject {
  agent_id: string;
  /** The principal's own risk override (0–100), or null. Wins over the agents map. */
  agent_risk: number | null;
  category: string;
  items: ReadonlyArray<{ operation_type: string; target_type: string; target_id: string }>;
}

export const DEFAULT_RISK_CONFIG: RiskConfig = deepFreeze(defaultsOf(RiskSchema));

const FACTOR_NAMES: readonly (keyof RiskFactors)[] = ['operation', 'target', 'agent', 'scope', 'quantity'];

/** Weights are fractions; scoring works in whole 1/10000ths so no float sum can drift. */
const WEIGHT_UNITS = 10_000;

// Own-property lookup: a category or operation named `constructor` must not hit the prototype.
function lookup(map: Readonly<Record<string, number>>, key: string): number | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

function operationFactor(subject: RiskSubject, config: RiskConfig['operation']): number {
  let sum = 0;
  for (const item of subject.items) sum += lookup(config.scores, item.operation_type) ?? config.default;
  return Math.min(sum, config.cap);
}

function targetFactor(subject: RiskSubject, config: RiskConfig['target']): number {
  let sum = 0;
  for (const item of subject.items) {
    if (config.sensitive_types.some((type) => item.target_type.includes(type))) sum += config.sensitive_type_score;
    if (config.protected_prefixes.some((prefix) => item.target_id.startsWith(prefix))) {
      sum += config.protected_prefix_score;
    }
  }
  return Math.min(sum, config.cap);
}

function agentFactor(subject: RiskSubject, config: RiskConfig): number {
  return subject.agent_risk ?? lookup(config.agents, subject.agent_id) ?? config.agent_default;
}

function scopeFactor(subject: RiskSubject, config: RiskConfig['scope']): number {
  if (config.high_impact.includes(subject.category)) return config.high_impact_score;
  return lookup(config.categories, subject.category) ?? config.default;
}

function quantityFactor(subject: RiskSubject, config: RiskConfig['quantity']): number {
  const count = subject.items.length;
  return config.thresholds.find((threshold) => count <= threshold.max_items)?.score ?? config.above;
}

/** Weighted sum rounded half up, in integers: floor((Σ units·factor + half) / WEIGHT_UNITS). */
function weightedScore(factors: RiskFactors, weights: RiskFactors): number {
  let numerator = WEIGHT_UNITS / 2;
  for (const name of FACTOR_NAMES) numerator += Math.round(weights[name] * WEIGHT_UNITS) * factors[name];
  return (numerator - (numerator % WEIGHT_UNITS)) / WEIGHT_UNITS;
}

function levelOf(score: number, levels: RiskConfig['levels']): RiskLevel {
  if (score >= levels.critical) return 'CRITICAL';
  if (score >= levels.high) return 'HIGH';
  if (score >= levels.medium) return 'MEDIUM';
  return 'LOW';
}

function approvalsFor(level: RiskLevel, approvals: RiskConfig['approvals']): number {
  return approvals[level.toLowerCase() as Lowercase<RiskLevel>];
}

function isAutoApprovable(factors: RiskFactors, approvalsByScore: number, rule: RiskConfig['auto_approve']): boolean {
  return (
    rule.enabled &&
    factors.operation < rule.operation_below &&
    factors.target < rule.target_below &&
    factors.scope < rule.scope_below &&
    factors.quantity < rule.quantity_below &&
    approvalsByScore === 0
  );
}

function outcomeOf(factors: RiskFactors, config: RiskConfig): RiskOutcome {
  const score = weightedScore(factors, config.weights);
  const level = levelOf(score, config.levels);
  const approvalsByScore = approvalsFor(level, config.approvals);
  const autoApprove = isAutoApprovable(factors, approvalsByScore, config.auto_approve);
  return {
    score,
    level,
    auto_approve: autoApprove,
    // Anything not auto-approved needs a reviewer, even at a LOW score (docs/design.md#deliberate-choices).
    required_approvals: Math.max(approvalsByScore, autoApprove ? 0 : 1),
  };
}

/** Earned trust as an input of the assessment: the settings and the agent's history (docs/trust.md). */
export interface TrustInput {
  config: TrustConfig;
  history: TrustHistory;
}

const clampScore = (value: number): number => Math.min(100, Math.max(0, value));

/** The trust factor of a change-set: the agent's adjustment (none when exempt) and what it does to the score. */
function trustFactor(
  subject: RiskSubject,
  factors: RiskFactors,
  config: RiskConfig,
  trust: TrustInput & { config: { mode: RiskTrust['mode'] } },
): RiskTrust {
  const exempt = trustExemption(subject, trust.config);
  const standing = exempt === null ? trustStanding(trust.history, trust.config) : null;
  const adjustment = standing?.adjustment ?? 0;
  const agent_factor = clampScore(factors.agent + adjustment);
  return {
    mode: trust.config.mode,
    adjustment,
    agent_factor,
    reason: exempt ?? standing?.reason ?? '',
    with_trust: outcomeOf({ ...factors, agent: agent_factor }, config),
  };
}

const isOn = (trust: TrustInput | null): trust is TrustInput & { config: { mode: RiskTrust['mode'] } } =>
  trust !== null && trust.config.mode !== 'off';

/**
 * The assessment of a change-set. With `trust` (mode shadow or enforce) its risk also carries the
 * trust factor; in enforce the score, level and approvals are those with the adjustment. Without it,
 * or with mode off, the assessment is the risk model's alone.
 */
export function assessRisk(
  subject: RiskSubject,
  config: RiskConfig = DEFAULT_RISK_CONFIG,
  trust: TrustInput | null = null,
): RiskAssessment {
  const factors: RiskFactors = {
    operation: operationFactor(subject, config.operation),
    target: targetFactor(subject, config.target),
    agent: agentFactor(subject, config),
    scope: scopeFactor(subject, config.scope),
    quantity: quantityFactor(subject, config.quantity),
  };
  const recommendations = config.recommendations
    .filter((rule) => factors[rule.factor] > rule.above)
    .map((r) => r.message);
  if (!isOn(trust)) return withOrder(outcomeOf(factors, config), factors, recommendations);
  const factor = trustFactor(subject, factors, config, trust);
  const outcome = trust.config.mode === 'enforce' ? factor.with_trust : outcomeOf(factors, config);
  return { ...withOrder(outcome, factors, recommendations), trust: factor };
}

/** The assessment's keys in the order the API has always written them. */
function withOrder(outcome: RiskOutcome, factors: RiskFactors, recommendations: string[]): RiskAssessment {
  return {
    score: outcome.score,
    level: outcome.level,
    factors,
    recommendations,
    auto_approve: outcome.auto_approve,
    required_approvals: outcome.required_approvals,
  };
}

// ---------------------------------------------------------------------------------------------
// Validation, for the config loader: every problem, each naming its path under `risk`.

type Problems = string[];

// Factors and thresholds are whole numbers so the weighted sum stays exact (see weightedScore).
function checkInteger(problems: Problems, path: string, value: unknown, max = Number.POSITIVE_INFINITY): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? 'of at least 0' : `from 0 to ${max}`;
    problems.push(`${path} must be an integer ${range}, got ${JSON.stringify(value)}`);
  }
}

function checkScore(problems: Problems, path: string, value: unknown): void {
  checkInteger(problems, path, value, 100);
}

function checkStrings(problems: Problems, path: string, values: readonly unknown[]): void {
  values.forEach((value, i) => {
    // An empty pattern would match every target and silently mark everything sensitive.
    if (typeof value !== 'string' || value === '') problems.push(`${path}[${i}] must be a non-empty string`);
  });
}

function checkScoreMap(problems: Problems, path: string, map: Readonly<Record<string, number>>): void {
  for (const [key, value] of Object.entries(map)) checkScore(problems, `${path}.${key}`, value);
}

function checkFactors(problems: Problems, config: RiskConfig): void {
  checkScoreMap(problems, 'risk.operation.scores', config.operation.scores);
  checkScore(problems, 'risk.operation.default', config.operation.default);
  checkScore(problems, 'risk.operation.cap', config.operation.cap);
  checkStrings(problems, 'risk.target.sensitive_types', config.target.sensitive_types);
  checkScore(problems, 'risk.target.sensitive_type_score', config.target.sensitive_type_score);
  checkStrings(problems, 'risk.target.protected_prefixes', config.target.protected_prefixes);
  checkScore(problems, 'risk.target.protected_prefix_score', config.target.protected_prefix_score);
  checkScore(problems, 'risk.target.cap', config.target.cap);
  checkScoreMap(problems, 'risk.agents', config.agents);
  checkScore(problems, 'risk.agent_default', config.agent_default);
  checkStrings(problems, 'risk.scope.high_impact', config.scope.high_impact);
  checkScore(problems, 'risk.scope.high_impact_score', config.scope.high_impact_score);
  checkScoreMap(problems, 'risk.scope.categories', config.scope.categories);
  checkScore(problems, 'risk.scope.default', config.scope.default);
}

function checkQuantity(problems: Problems, quantity: RiskConfig['quantity']): void {
  quantity.thresholds.forEach((threshold, i) => {
    const path = `risk.quantity.thresholds[${i}]`;
    checkInteger(problems, `${path}.max_items`, threshold.max_items);
    checkScore(problems, `${path}.score`, threshold.score);
    const previous = quantity.thresholds[i - 1];
    // The first threshold that fits wins, so an out-of-order one could never be reached.
    if (previous && threshold.max_items <= previous.max_items) {
      problems.push(
        `${path}.max_items must be greater than risk.quantity.thresholds[${i - 1}].max_items ` +
          `(${previous.max_items}), got ${threshold.max_items}`,
      );
    }
  });
  checkScore(problems, 'risk.quantity.above', quantity.above);
}

function checkWeights(problems: Problems, weights: RiskFactors): void {
  let total = 0;
  let allValid = true;
  for (const name of FACTOR_NAMES) {
    const value = weights[name];
    const units = value * WEIGHT_UNITS;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      allValid = false;
      problems.push(`risk.weights.${name} must be a number from 0 to 1, got ${JSON.stringify(value)}`);
    } else if (Math.abs(units - Math.round(units)) > 1e-6) {
      allValid = false;
      problems.push(`risk.weights.${name} must have at most 4 decimal places, got ${value}`);
    } else {
      total += Math.round(units);
    }
  }
  // Weights summing to 1 keep the score on the same 0–100 scale as the level thresholds.
  if (allValid && total !== WEIGHT_UNITS) {
    problems.push(`risk.weights must add up to 1, got ${total / WEIGHT_UNITS}`);
  }
}

function checkLevels(problems: Problems, config: RiskConfig): void {
  const { levels, approvals } = config;
  for (const name of ['critical', 'high', 'medium'] as const) checkScore(problems, `risk.levels.${name}`, levels[name]);
  if (!(levels.critical > levels.high && levels.high > levels.medium)) {
    problems.push(
      `risk.levels must satisfy critical > high > medium, got ` +
        `${levels.critical}, ${levels.high}, ${levels.medium}`,
    );
  }
  for (const name of ['critical', 'high', 'medium', 'low'] as const) {
    checkInteger(problems, `risk.approvals.${name}`, approvals[name]);
  }
  if (
    !(approvals.critical >= approvals.high && approvals.high >= approvals.medium && approvals.medium >= approvals.low)
  ) {
    problems.push('risk.approvals must not decrease as the level rises (critical >= high >= medium >= low)');
  }
}

function checkAutoApproveAndRecommendations(problems: Problems, config: RiskConfig): void {
  for (const name of ['operation_below', 'target_below', 'scope_below', 'quantity_below'] as const) {
    checkInteger(problems, `risk.auto_approve.${name}`, config.auto_approve[name]);
  }
  config.recommendations.forEach((rule, i) => {
    const path = `risk.recommendations[${i}]`;
    if (!FACTOR_NAMES.includes(rule.factor)) {
      problems.push(`${path}.factor must be one of ${FACTOR_NAMES.join(', ')}, got ${JSON.stringify(rule.factor)}`);
    }
    checkInteger(problems, `${path}.above`, rule.above);
    if (typeof rule.message !== 'string' || rule.message.trim() === '') {
      problems.push(`${path}.message must be a non-empty string`);
    }
  });
}

/** Every problem in a risk config, each naming its path (`risk.…`); empty when it is usable. */
export function validateRiskConfig(config: RiskConfig): string[] {
  const problems: Problems = [];
  checkFactors(problems, config);
  checkQuantity(problems, config.quantity);
  checkWeights(problems, config.weights);
  checkLevels(problems, config);
  checkAutoApproveAndRecommendations(problems, config);
  return problems;
}
