// A program using changeledger as a library, as another package would: by its name, resolved
// through package.json `exports` (test/public-types.test.ts compiles it). Kept out of the
// repository's own type check (tsconfig.json `exclude`): it needs the package's declarations.
import type {
  ApplyResult,
  ChangeSet,
  Engine,
  EngineConfig,
  HistoryView,
  PlanResult,
  Principal,
  ResourceView,
  RollbackResult,
} from 'changeledger';

/** `true` when T is `any`: a type that did not resolve must not pass for one that did. */
type IsAny<T> = 0 extends 1 & T ? true : false;
type Resolved<T> = IsAny<T> extends true ? never : T;

export async function tour(engine: Resolved<Engine>, actor: Resolved<Principal>): Promise<string[]> {
  const created: Resolved<ChangeSet> = await engine.create(actor, { title: 'x', items: [] });
  const applied: Resolved<ApplyResult> | Resolved<PlanResult> = await engine.apply(actor, created.id);
  const plan: Resolved<PlanResult> = await engine.plan(created.id);
  const rolledBack: Resolved<RollbackResult> = await engine.rollback(actor, created.id, { reason: 'r' });
  const resource: Resolved<ResourceView> = await engine.resource('dns_record', 'a');
  const history: Resolved<HistoryView>[] = await engine.resourceHistory('dns_record', 'a');
  const config: Resolved<EngineConfig> = engine.config;
  const lines: string[] = [
    applied.status,
    plan.mode,
    String(rolledBack.rolled_back_items + (rolledBack.success ? 1 : 0)),
    `${resource.target_type}/${resource.target_id}@${resource.version}`,
    String(history.length),
    String(config.auth.token_cache_ms),
  ];
  if ('applied_items' in applied) lines.push(String(applied.applied_items));
  return lines;
}

// The typed client, by its own entry point: typed from the API's OpenAPI document.
import { createLedgerClient, isRefusal, type LedgerClient } from 'changeledger/client';

export async function agent(baseUrl: string, token: string): Promise<string> {
  const client: Resolved<LedgerClient> = createLedgerClient({ baseUrl, token, retries: { attempts: 3 } });
  const proposed = await client.propose({
    change_set_id: 'CS-1',
    title: 'Raise the limit',
    agent_type: 'BACKEND',
    items: [{ operation_type: 'UPDATE', target_type: 'CONFIG', target_id: 'limits', after_state: { max: 3 } }],
  });
  const waited = await client.waitFor(proposed.change_set_id, 'decision', 60_000);
  const status: string = waited.change_set.status;
  const { data } = await client.api.GET('/api/ledger/changesets/{id}', { params: { path: { id: 'CS-1' } } });
  try {
    await client.decide('CS-1', { decision: 'APPROVED', content_hash: proposed.content_hash });
  } catch (error) {
    if (isRefusal(error, 'STALE_CONTENT')) return error.message;
  }
  return `${status} ${data?.version ?? 0}`;
}
