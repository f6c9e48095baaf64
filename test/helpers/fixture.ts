// A ready engine on a fresh database with the seed's cast of principals.
import type { Principal } from '../../src/core/types.js';
import type { EngineDeps } from '../../src/engine/context.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../src/engine/engine-config.js';
import type { Db } from '../../src/store/db.js';

export interface Fixture {
  db: Db;
  engine: Engine;
  /** Principals by id. */
  p: Record<string, Principal>;
  clock: { now: Date; advance(ms: number): void };
}

const CAST: { id: string; kind: Principal['kind']; groups: string[]; risk?: number }[] = [
  { id: 'Agent-A', kind: 'agent', groups: [] },
  { id: 'Agent-B', kind: 'agent', groups: [] },
  { id: 'Agent-C', kind: 'agent', groups: [] },
  { id: 'Agent-D', kind: 'agent', groups: [] },
  { id: 'alice', kind: 'human', groups: [] },
  { id: 'bob', kind: 'human', groups: [] },
  { id: 'olga', kind: 'human', groups: ['operator'] },
  { id: 'root', kind: 'human', groups: ['admin'] },
  { id: 'root2', kind: 'human', groups: ['admin'] },
  { id: 'sam', kind: 'human', groups: ['security'] },
];

export async function makeFixture(
  db: Db,
  config: EngineConfig = DEFAULT_ENGINE_CONFIG,
  deps: Pick<EngineDeps, 'signer'> = {},
): Promise<Fixture> {
  const clock = {
    now: new Date('2026-11-25T10:00:00.000Z'),
    advance(ms: number) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
  };
  const engine = new Engine({ db, config, clock: () => clock.now, ...deps });
  const p: Record<string, Principal> = {};
  for (const member of CAST) {
    const { principal } = await engine.createPrincipal(
      null,
      {
        id: member.id,
        kind: member.kind,
        display_name: member.id,
        email: `${member.id.toLowerCase()}@example.com`,
        slack_id: null,
        groups: member.groups,
        risk: member.risk ?? null,
        active: true,
      },
      { withToken: false },
    );
    p[member.id] = principal;
  }
  return { db, engine, p, clock };
}

let counter = 0;
export const uniqueId = (prefix = 'CS'): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

/** The first worked example of docs/design.md#worked-examples: auto-approved (Agent-A, UI_LAYOUT, one CREATE). */
export function uiButton(overrides: Record<string, unknown> = {}) {
  return {
    change_set_id: uniqueId(),
    title: 'Add a button',
    agent_type: 'UI',
    category: 'UI_LAYOUT',
    items: [
      {
        operation_type: 'CREATE',
        target_type: 'UI_COMPONENT',
        target_id: `ui.button.${++counter}`,
        after_state: { label: 'OK' },
      },
    ],
    ...overrides,
  };
}

/** A change-set that needs exactly one approval (CONFIG_UPDATE by Agent-D: not auto-approvable). */
export function configChange(targetId = `config.${++counter}`, overrides: Record<string, unknown> = {}) {
  return {
    change_set_id: uniqueId(),
    title: 'Tune a setting',
    agent_type: 'BACKEND',
    category: 'CONFIG_UPDATE',
    approval_chain: ['alice'],
    items: [{ operation_type: 'CREATE', target_type: 'CONFIG', target_id: targetId, after_state: { value: 1 } }],
    ...overrides,
  };
}

/**
 * Marks every event so far routed, delivering nothing: the set-up's own events (admins granted,
 * tokens issued) then reach no channel, and a notification test sees only the events it causes.
 */
export async function skipSetUpEvents(db: Db): Promise<void> {
  await db.query('UPDATE outbox_events SET routed_at = $1 WHERE routed_at IS NULL', [new Date().toISOString()]);
}
