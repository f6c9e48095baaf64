import { describe, expect, it } from 'vitest';
import {
  assessRisk,
  DEFAULT_RISK_CONFIG,
  type RiskConfig,
  type RiskSubject,
  validateRiskConfig,
} from '../../src/core/risk.js';

// Expected scores below are worked by hand from docs/design.md#risk-model with the default weights:
//   N = 30·op + 35·target + 15·agent + 15·scope + 5·quantity,  score = floor((N + 50) / 100)

type Item = RiskSubject['items'][number];

const item = (operation_type = 'CREATE', target_type = 'UI_COMPONENT', target_id = 'ui.button'): Item => ({
  operation_type,
  target_type,
  target_id,
});

const repeat = (count: number, one: Item = item()): Item[] => Array.from({ length: count }, () => one);

const subject = (overrides: Partial<RiskSubject> = {}): RiskSubject => ({
  agent_id: 'Agent-A',
  agent_risk: null,
  category: 'UI_LAYOUT',
  items: [item()],
  ...overrides,
});

const configWith = (patch: (config: RiskConfig) => void): RiskConfig => {
  const config = structuredClone(DEFAULT_RISK_CONFIG);
  patch(config);
  return config;
};

const securityDelete = item('DELETE', 'SECURITY_POLICY', 'security.firewall');
const OPERATION_ADVICE = 'Consider breaking down high-risk operations into smaller change-sets';
const TARGET_ADVICE = 'Additional security review recommended for sensitive targets';
const QUANTITY_ADVICE = 'Consider batching operations to reduce scope';

describe('assessRisk: the worked examples of docs/design.md#worked-examples', () => {
  it('auto-approves a low-risk UI change by Agent-A', () => {
    // N = 150 + 0 + 225 + 225 + 25 = 625 → floor(675 / 100) = 6
    expect(assessRisk(subject())).toEqual({
      score: 6,
      level: 'LOW',
      factors: { operation: 5, target: 0, agent: 15, scope: 15, quantity: 5 },
      recommendations: [],
      auto_approve: true,
      required_approvals: 0,
    });
  });

  it('asks one approval and a security review for Agent-C deleting a security policy', () => {
    // N = 900 + 2625 + 525 + 750 + 25 = 4825 → floor(4875 / 100) = 48
    expect(assessRisk(subject({ agent_id: 'Agent-C', category: 'SECURITY', items: [securityDelete] }))).toEqual({
      score: 48,
      level: 'MEDIUM',
      factors: { operation: 30, target: 75, agent: 35, scope: 50, quantity: 5 },
      recommendations: [TARGET_ADVICE],
      auto_approve: false,
      required_approvals: 1,
    });
  });
});

describe('assessRisk: factors', () => {
  it.each([
    { name: 'CREATE scores 5', items: [item('CREATE')], operation: 5 },
    { name: 'UPDATE scores 10', items: [item('UPDATE')], operation: 10 },
    {
      name: 'DELETE, RESET and CLEAR score 30 each',
      items: [item('DELETE'), item('RESET'), item('CLEAR')],
      operation: 90,
    },
    { name: 'an unknown operation scores the default 5', items: [item('MERGE')], operation: 5 },
    {
      name: 'three DELETEs and an UPDATE reach the cap exactly',
      items: [...repeat(3, item('DELETE')), item('UPDATE')],
      operation: 100,
    },
    { name: 'four DELETEs (120) are capped at 100', items: repeat(4, item('DELETE')), operation: 100 },
  ])('operation: $name', ({ items, operation }) => {
    expect(assessRisk(subject({ items })).factors.operation).toBe(operation);
  });

  it.each([
    { name: 'an ordinary target scores 0', items: [item()], target: 0 },
    { name: 'a sensitive target type adds 40', items: [item('CREATE', 'SYSTEM_CONFIG', 'app.flags')], target: 40 },
    { name: 'a protected id prefix adds 35', items: [item('CREATE', 'UI_COMPONENT', 'admin.panel')], target: 35 },
    { name: 'both add up to 75', items: [securityDelete], target: 75 },
    {
      name: 'a type matching three words counts once',
      items: [item('CREATE', 'SYSTEM_SECURITY_POLICY', 'x')],
      target: 40,
    },
    { name: 'type matching is case-sensitive', items: [item('CREATE', 'system_config', 'app.flags')], target: 0 },
    { name: 'the prefix must start the id', items: [item('CREATE', 'UI_COMPONENT', 'ui.system.button')], target: 0 },
    { name: 'prefix matching is case-sensitive', items: [item('CREATE', 'UI_COMPONENT', 'System.clock')], target: 0 },
    { name: 'two items of 75 (150) are capped at 100', items: [securityDelete, securityDelete], target: 100 },
  ])('target: $name', ({ items, target }) => {
    expect(assessRisk(subject({ items })).factors.target).toBe(target);
  });

  it('counts overlapping protected prefixes once per item', () => {
    const config = configWith((c) => {
      c.target.protected_prefixes = ['sys', 'system.'];
    });
    expect(
      assessRisk(subject({ items: [item('CREATE', 'UI_COMPONENT', 'system.clock')] }), config).factors.target,
    ).toBe(35);
  });

  it.each([
    { agent_id: 'Agent-A', agent_risk: null, agent: 15 },
    { agent_id: 'Agent-B', agent_risk: null, agent: 20 },
    { agent_id: 'Agent-C', agent_risk: null, agent: 35 },
    { agent_id: 'Agent-D', agent_risk: null, agent: 25 },
    { agent_id: 'deploy-bot', agent_risk: null, agent: 30 },
    { agent_id: 'constructor', agent_risk: null, agent: 30 },
    { agent_id: 'Agent-A', agent_risk: 80, agent: 80 },
    { agent_id: 'Agent-C', agent_risk: 0, agent: 0 },
    { agent_id: 'deploy-bot', agent_risk: 55, agent: 55 },
  ])('agent: $agent_id with override $agent_risk scores $agent', ({ agent_id, agent_risk, agent }) => {
    expect(assessRisk(subject({ agent_id, agent_risk })).factors.agent).toBe(agent);
  });

  it.each([
    { category: 'UI_LAYOUT', scope: 15 },
    { category: 'API_CHANGE', scope: 35 },
    { category: 'CONFIG_UPDATE', scope: 25 },
    { category: 'DESIGN_SYSTEM', scope: 20 },
    { category: 'INFRASTRUCTURE', scope: 50 },
    { category: 'SECURITY', scope: 50 },
    { category: 'COMPLIANCE', scope: 50 },
    { category: 'MARKETING', scope: 30 },
    { category: 'security', scope: 30 },
    { category: 'toString', scope: 30 },
  ])('scope: $category scores $scope', ({ category, scope }) => {
    expect(assessRisk(subject({ category })).factors.scope).toBe(scope);
  });

  it('checks the high-impact list before the category map', () => {
    const config = configWith((c) => {
      c.scope.categories['SECURITY'] = 10;
    });
    expect(assessRisk(subject({ category: 'SECURITY' }), config).factors.scope).toBe(50);
  });

  it.each([
    { count: 0, quantity: 5 },
    { count: 1, quantity: 5 },
    { count: 5, quantity: 5 },
    { count: 6, quantity: 15 },
    { count: 10, quantity: 15 },
    { count: 11, quantity: 25 },
    { count: 20, quantity: 25 },
    { count: 21, quantity: 40 },
    { count: 50, quantity: 40 },
    { count: 51, quantity: 50 },
  ])('quantity: $count items score $quantity', ({ count, quantity }) => {
    expect(assessRisk(subject({ items: repeat(count) })).factors.quantity).toBe(quantity);
  });
});

describe('assessRisk: score, level and approvals at the thresholds', () => {
  const systemDelete = item('DELETE', 'SYSTEM_CONFIG', 'app.flags');
  it.each([
    // 30,40,26,15,5: N = 900 + 1400 + 390 + 225 + 25 = 2940 → floor(2990 / 100) = 29
    { score: 29, level: 'LOW', required: 1, items: [systemDelete], category: 'UI_LAYOUT', agent_risk: 26 },
    // 30,40,27,15,5: N = 900 + 1400 + 405 + 225 + 25 = 2955 → floor(3005 / 100) = 30
    { score: 30, level: 'MEDIUM', required: 1, items: [systemDelete], category: 'UI_LAYOUT', agent_risk: 27 },
    // 30,75,43,50,5: N = 900 + 2625 + 645 + 750 + 25 = 4945 → floor(4995 / 100) = 49
    { score: 49, level: 'MEDIUM', required: 1, items: [securityDelete], category: 'SECURITY', agent_risk: 43 },
    // 30,75,44,50,5: N = 900 + 2625 + 660 + 750 + 25 = 4960 → floor(5010 / 100) = 50
    { score: 50, level: 'HIGH', required: 2, items: [securityDelete], category: 'SECURITY', agent_risk: 44 },
    // 60,100,58,50,5: N = 1800 + 3500 + 870 + 750 + 25 = 6945 → floor(6995 / 100) = 69
    {
      score: 69,
      level: 'HIGH',
      required: 2,
      items: [securityDelete, securityDelete],
      category: 'SECURITY',
      agent_risk: 58,
    },
    // 60,100,59,50,5: N = 1800 + 3500 + 885 + 750 + 25 = 6960 → floor(7010 / 100) = 70
    {
      score: 70,
      level: 'CRITICAL',
      required: 3,
      items: [securityDelete, securityDelete],
      category: 'SECURITY',
      agent_risk: 59,
    },
  ])('scores $score as $level needing $required approval(s)', ({ score, level, required, ...input }) => {
    const risk = assessRisk(subject(input));
    expect(risk).toMatchObject({ score, level, auto_approve: false, required_approvals: required });
  });
});

describe('assessRisk: rounding is half up and integer-exact', () => {
  const edge = configWith((c) => {
    c.scope.categories['EDGE'] = 88;
  });
  const thirds = configWith((c) => {
    c.weights = { operation: 0.33, target: 0.33, agent: 0.34, scope: 0, quantity: 0 };
  });
  it.each([
    // 5,0,10,15,5: N = 150 + 150 + 225 + 25 = 550, exactly 5.5 → floor(600 / 100) = 6
    { name: 'x.5 rounds up', agent_risk: 10, category: 'UI_LAYOUT', config: DEFAULT_RISK_CONFIG, score: 6 },
    // 5,0,3,15,5: N = 150 + 45 + 225 + 25 = 445, 4.45 → floor(495 / 100) = 4
    { name: 'x.45 rounds down', agent_risk: 3, category: 'UI_LAYOUT', config: DEFAULT_RISK_CONFIG, score: 4 },
    // units 3300·5 + 3400·26 = 104900, 10.49 → floor(109900 / 10000) = 10
    { name: 'x.49 rounds down', agent_risk: 26, category: 'UI_LAYOUT', config: thirds, score: 10 },
    // 5,0,97,88,5: N = 150 + 1455 + 1320 + 25 = 2950, exactly 29.5 → floor(3000 / 100) = 30
    {
      name: 'x.5 that floats see as x.4999… still rounds up',
      agent_risk: 97,
      category: 'EDGE',
      config: edge,
      score: 30,
    },
  ])('$name', ({ agent_risk, category, config, score }) => {
    expect(assessRisk(subject({ agent_risk, category }), config).score).toBe(score);
  });

  it('gets MEDIUM where a floating-point weighted sum would have said LOW', () => {
    // The seed's float sum for the 29.5 case lands just below the half and would round to 29.
    expect(0.3 * 5 + 0.35 * 0 + 0.15 * 97 + 0.15 * 88 + 0.05 * 5).toBeLessThan(29.5);
    const config = configWith((c) => {
      c.scope.categories['EDGE'] = 88;
    });
    expect(assessRisk(subject({ agent_risk: 97, category: 'EDGE' }), config)).toMatchObject({
      score: 30,
      level: 'MEDIUM',
    });
  });
});

describe('assessRisk: auto-approval', () => {
  it.each([
    // 15,0,15,15,5: N = 450 + 225 + 225 + 25 = 925 → 9
    { name: 'operation 15', input: { items: [item('UPDATE'), item('CREATE')] }, score: 9 },
    // 5,0,15,20,5: N = 150 + 225 + 300 + 25 = 700 → 7
    { name: 'scope 20', input: { category: 'DESIGN_SYSTEM' }, score: 7 },
  ])('still auto-approves just below a limit: $name', ({ input, score }) => {
    expect(assessRisk(subject(input))).toMatchObject({ score, auto_approve: true, required_approvals: 0 });
  });

  it.each([
    // 20,0,15,15,5: N = 600 + 225 + 225 + 25 = 1075 → 11
    {
      name: 'operation is 20',
      input: { items: [item('UPDATE'), item('UPDATE')] },
      config: DEFAULT_RISK_CONFIG,
      score: 11,
    },
    // 5,35,15,15,5: N = 150 + 1225 + 225 + 225 + 25 = 1850 → 19
    {
      name: 'target is 35',
      input: { items: [item('CREATE', 'UI_COMPONENT', 'admin.button')] },
      config: DEFAULT_RISK_CONFIG,
      score: 19,
    },
    // 5,0,15,25,5: N = 150 + 225 + 375 + 25 = 775 → 8
    { name: 'scope is 25', input: { category: 'CONFIG_UPDATE' }, config: DEFAULT_RISK_CONFIG, score: 8 },
    // CREATE scores 0 here, so only quantity fails. 0,0,15,15,15: N = 225 + 225 + 75 = 525 → 5
    {
      name: 'quantity is 15',
      input: { items: repeat(6) },
      config: configWith((c) => {
        c.operation.default = 0;
      }),
      score: 5,
    },
    // Score 6 is LOW, but this config asks one approval at LOW.
    {
      name: 'the score already asks for approvals',
      input: {},
      config: configWith((c) => {
        c.approvals.low = 1;
      }),
      score: 6,
    },
    {
      name: 'auto-approval is disabled',
      input: {},
      config: configWith((c) => {
        c.auto_approve.enabled = false;
      }),
      score: 6,
    },
  ])('does not auto-approve when $name, and then needs an approval', ({ input, config, score }) => {
    const risk = assessRisk(subject(input), config);
    expect(risk).toMatchObject({ score, level: 'LOW', auto_approve: false });
    expect(risk.required_approvals).toBeGreaterThanOrEqual(1);
  });
});

describe('assessRisk: recommendations', () => {
  it.each([
    { name: 'operation 50 is not above 50', items: [item('DELETE'), item('UPDATE'), item('UPDATE')], advice: [] },
    {
      name: 'operation 55 is above 50',
      items: [item('DELETE'), item('UPDATE'), item('UPDATE'), item('CREATE')],
      advice: [OPERATION_ADVICE],
    },
    { name: 'target 40 is not above 40', items: [item('CREATE', 'SYSTEM_CONFIG', 'app.flags')], advice: [] },
    {
      name: 'target 75 is above 40',
      items: [item('CREATE', 'SECURITY_POLICY', 'security.x')],
      advice: [TARGET_ADVICE],
    },
    { name: 'quantity 25 is not above 30', items: repeat(20), advice: [OPERATION_ADVICE] },
    { name: 'quantity 40 is above 30', items: repeat(21), advice: [OPERATION_ADVICE, QUANTITY_ADVICE] },
    {
      name: 'all three, in order',
      items: repeat(51, securityDelete),
      advice: [OPERATION_ADVICE, TARGET_ADVICE, QUANTITY_ADVICE],
    },
  ])('$name', ({ items, advice }) => {
    expect(assessRisk(subject({ items })).recommendations).toEqual(advice);
  });

  it('follows the configured order and compares strictly', () => {
    const config = configWith((c) => {
      c.recommendations = [
        { factor: 'quantity', above: 30, message: 'quantity' },
        { factor: 'agent', above: 35, message: 'agent at 35' },
        { factor: 'agent', above: 34, message: 'agent above 34' },
        { factor: 'operation', above: 50, message: 'operation' },
      ];
    });
    const risk = assessRisk(subject({ agent_id: 'Agent-C', items: repeat(51, securityDelete) }), config);
    expect(risk.recommendations).toEqual(['quantity', 'agent above 34', 'operation']);
  });
});

describe('assessRisk: a custom config', () => {
  const agentCSecurity = subject({ agent_id: 'Agent-C', category: 'SECURITY', items: [securityDelete] });

  it('weighs the factors as configured', () => {
    const config = configWith((c) => {
      c.weights = { operation: 0, target: 0, agent: 1, scope: 0, quantity: 0 };
    });
    // 10000·35 + 5000 → floor(355000 / 10000) = 35
    expect(assessRisk(agentCSecurity, config)).toMatchObject({ score: 35, level: 'MEDIUM', required_approvals: 1 });
  });

  it('levels the score by the configured thresholds', () => {
    const config = configWith((c) => {
      c.levels = { critical: 90, high: 70, medium: 50 };
    });
    expect(assessRisk(agentCSecurity, config)).toMatchObject({ score: 48, level: 'LOW', required_approvals: 1 });
  });

  it('scores quantity, operations and agents from the configured tables', () => {
    const config = configWith((c) => {
      c.quantity = { thresholds: [{ max_items: 1, score: 0 }], above: 100 };
      c.operation.scores['CREATE'] = 50;
      c.agents = { 'Agent-A': 90 };
    });
    expect(assessRisk(subject(), config).factors).toEqual({
      operation: 50,
      target: 0,
      agent: 90,
      scope: 15,
      quantity: 0,
    });
    expect(assessRisk(subject({ agent_id: 'Agent-B', items: repeat(2) }), config).factors).toMatchObject({
      operation: 100,
      agent: 30,
      quantity: 100,
    });
  });
});

describe('DEFAULT_RISK_CONFIG', () => {
  it('is deeply frozen', () => {
    const config = DEFAULT_RISK_CONFIG as {
      weights: { operation: number };
      operation: { scores: Record<string, number> };
    };
    expect(() => {
      config.weights.operation = 1;
    }).toThrow(TypeError);
    expect(() => {
      config.operation.scores['DELETE'] = 0;
    }).toThrow(TypeError);
    expect(() => DEFAULT_RISK_CONFIG.quantity.thresholds.push({ max_items: 99, score: 99 })).toThrow(TypeError);
    expect(Object.isFrozen(DEFAULT_RISK_CONFIG.quantity.thresholds[0])).toBe(true);
    expect(Object.isFrozen(DEFAULT_RISK_CONFIG.recommendations[2])).toBe(true);
  });
});

describe('validateRiskConfig', () => {
  it('accepts the defaults', () => {
    expect(validateRiskConfig(DEFAULT_RISK_CONFIG)).toEqual([]);
  });

  it.each([
    {
      patch: (c: RiskConfig) => {
        c.weights.operation = -0.1;
      },
      problem: 'risk.weights.operation must be a number from 0 to 1, got -0.1',
    },
    {
      patch: (c: RiskConfig) => {
        c.weights.quantity = 0.0001 / 3;
      },
      problem: `risk.weights.quantity must have at most 4 decimal places, got ${0.0001 / 3}`,
    },
    {
      patch: (c: RiskConfig) => {
        c.weights.target = 0.25;
      },
      problem: 'risk.weights must add up to 1, got 0.9',
    },
    {
      patch: (c: RiskConfig) => {
        c.quantity.thresholds[1]!.max_items = 5;
      },
      problem:
        'risk.quantity.thresholds[1].max_items must be greater than risk.quantity.thresholds[0].max_items (5), got 5',
    },
    {
      patch: (c: RiskConfig) => {
        c.quantity.thresholds[2]!.score = 101;
      },
      problem: 'risk.quantity.thresholds[2].score must be an integer from 0 to 100, got 101',
    },
    {
      patch: (c: RiskConfig) => {
        c.levels = { critical: 50, high: 70, medium: 30 };
      },
      problem: 'risk.levels must satisfy critical > high > medium, got 50, 70, 30',
    },
    {
      patch: (c: RiskConfig) => {
        c.approvals.low = -1;
      },
      problem: 'risk.approvals.low must be an integer of at least 0, got -1',
    },
    {
      patch: (c: RiskConfig) => {
        c.approvals.critical = 1;
      },
      problem: 'risk.approvals must not decrease as the level rises (critical >= high >= medium >= low)',
    },
    {
      patch: (c: RiskConfig) => {
        c.operation.scores['DELETE'] = 150;
      },
      problem: 'risk.operation.scores.DELETE must be an integer from 0 to 100, got 150',
    },
    {
      patch: (c: RiskConfig) => {
        c.agents['Agent-X'] = 2.5;
      },
      problem: 'risk.agents.Agent-X must be an integer from 0 to 100, got 2.5',
    },
    {
      patch: (c: RiskConfig) => {
        c.target.protected_prefixes.push('');
      },
      problem: 'risk.target.protected_prefixes[3] must be a non-empty string',
    },
    {
      patch: (c: RiskConfig) => {
        c.recommendations[0]!.factor = 'speed' as 'operation';
      },
      problem: 'risk.recommendations[0].factor must be one of operation, target, agent, scope, quantity, got "speed"',
    },
  ])('reports $problem', ({ patch, problem }) => {
    expect(validateRiskConfig(configWith(patch))).toEqual([problem]);
  });

  it('reports every problem at once', () => {
    const config = configWith((c) => {
      c.scope.default = -1;
      c.auto_approve.target_below = -5;
      c.recommendations[1]!.message = ' ';
    });
    expect(validateRiskConfig(config)).toEqual([
      'risk.scope.default must be an integer from 0 to 100, got -1',
      'risk.auto_approve.target_below must be an integer of at least 0, got -5',
      'risk.recommendations[1].message must be a non-empty string',
    ]);
  });
});
