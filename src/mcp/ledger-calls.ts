// TEMPORARY: the calls the tools make, until the typed client (src/client/) is merged.
type Obj = Record<string, unknown>;
export interface LedgerCalls {
  propose(body: Obj): Promise<Obj>;
  get(id: string): Promise<Obj>;
  list(query: {
    status?: string | undefined;
    category?: string | undefined;
    priority?: string | undefined;
    tag?: string | undefined;
    q?: string | undefined;
    limit?: number | undefined;
    cursor?: string | undefined;
    mine: boolean;
    awaitingMyDecision: boolean;
  }): Promise<{ data: Obj[]; next_cursor: string | null }>;
  plan(id: string): Promise<Obj>;
  submit(id: string): Promise<Obj>;
  waitForDecision(id: string, timeoutMs: number, signal: AbortSignal): Promise<Obj>;
  decide(
    id: string,
    body: { decision: 'APPROVED' | 'REJECTED'; reason: string | null; content_hash: string },
  ): Promise<Obj>;
  apply(id: string, mode: string | undefined): Promise<Obj>;
  rollback(id: string, body: { reason: string; force?: boolean }): Promise<Obj>;
  resource(type: string, id: string): Promise<Obj>;
  resourceHistory(type: string, id: string): Promise<Obj[]>;
}

// TEMPORARY plain-fetch implementation (replaced by the typed client at merge).
export class TmpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly fix?: string,
  ) {
    super(message);
  }
}
export function ledgerCallsFor(o: { url: string; token: string | undefined; fetch: typeof fetch }): LedgerCalls {
  const call = async (method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<any> => {
    const response = await o.fetch(`${o.url.replace(/\/+$/, '')}/api/ledger${path}`, {
      method,
      headers: {
        ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(method === 'POST' ? { 'idempotency-key': crypto.randomUUID() } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
    const json = (await response.json()) as any;
    if (!response.ok) throw new TmpRefusal(response.status, json.code, json.message, json.details, json.fix);
    return json;
  };
  const e = encodeURIComponent;
  return {
    propose: (body) => call('POST', '/changesets', body),
    get: (id) => call('GET', `/changesets/${e(id)}`),
    list: async (q) => {
      const params = new URLSearchParams();
      for (const k of ['status', 'category', 'priority', 'tag', 'q', 'cursor'] as const) if (q[k]) params.set(k, q[k]);
      if (q.limit) params.set('limit', String(q.limit));
      if (q.mine) params.set('agent_id', (await call('GET', '/me')).id);
      if (q.awaitingMyDecision) params.set('approver', 'me');
      return call('GET', `/changesets?${params}`);
    },
    plan: (id) => call('GET', `/changesets/${e(id)}/plan`),
    submit: (id) => call('POST', `/changesets/${e(id)}/submit`),
    waitForDecision: (id, ms, signal) =>
      call('GET', `/changesets/${e(id)}/wait?for=decision&timeout_s=${Math.min(300, ms / 1000)}`, undefined, signal),
    decide: (id, body) => call('POST', `/changesets/${e(id)}/approve`, body),
    apply: (id, mode) => call('POST', `/changesets/${e(id)}/apply`, mode ? { mode } : {}),
    rollback: (id, body) => call('POST', `/changesets/${e(id)}/rollback`, body),
    resource: (t, i) => call('GET', `/resources/${e(t)}/${e(i)}`),
    resourceHistory: async (t, i) => (await call('GET', `/resources/${e(t)}/${e(i)}/history`)).data,
  };
}
