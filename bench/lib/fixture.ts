// What the benchmarks propose: principals with tokens, and change-sets that need exactly one approval.
import { engineConfigOf, parseConfig } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import type { EngineConfig } from '../../src/engine/engine-config.js';

/** The defaults, untouched by the environment; `yaml` overrides some keys (e.g. limits.max_items). */
export function benchEngineConfig(yaml = ''): EngineConfig {
  return engineConfigOf(parseConfig(yaml, { env: {}, source: '(bench)' }));
}

export interface Credentials {
  agent: string;
  agentToken: string;
  approver: string;
  approverToken: string;
}

/** One agent and one approver per client, each with a token, created through the engine. */
export async function createClientPrincipals(engine: Engine, count: number, tag = 'bench'): Promise<Credentials[]> {
  const result: Credentials[] = [];
  for (let i = 0; i < count; i++) {
    const agent = await engine.createPrincipal(null, principal(`${tag}-agent-${i}`, 'agent'));
    const approver = await engine.createPrincipal(null, principal(`${tag}-approver-${i}`, 'human'));
    result.push({
      agent: agent.principal.id,
      agentToken: agent.token!.token,
      approver: approver.principal.id,
      approverToken: approver.token!.token,
    });
  }
  return result;
}

/** A principal as createPrincipal takes it. */
export function principal(id: string, kind: 'agent' | 'human', groups: string[] = []) {
  return {
    id,
    kind,
    display_name: id,
    email: `${id}@example.com`,
    slack_id: null,
    groups,
    risk: null,
    active: true,
  };
}

/**
 * A CONFIG_UPDATE change-set of `items` CREATE items on fresh targets, approvable by `approver`
 * alone. With 5 items the risk is LOW (score 16) but not auto-approvable (operation 25 ≥ 20), so it
 * needs exactly one approval; 20 items or more score 41 (MEDIUM), which also needs exactly one.
 */
export function changeSetBody(id: string, approver: string, items: number) {
  return {
    change_set_id: id,
    title: `Benchmark change-set ${id}`,
    description: 'Configuration for the benchmark service',
    agent_type: 'BACKEND',
    category: 'CONFIG_UPDATE',
    priority: 'NORMAL',
    tags: ['bench'],
    metadata: { ticket: 'BENCH-1' },
    approval_chain: [approver],
    items: Array.from({ length: items }, (_, n) => ({
      key: `k${n}`,
      operation_type: 'CREATE',
      target_type: 'SERVICE_CONFIG',
      target_id: `bench.${id}.setting-${n}`,
      after_state: { value: n * 10, unit: 'ms', enabled: true, comment: `setting ${n} of ${id}` },
    })),
  };
}
