// Issue 19 item 2, an approval not bound to what the reviewer read: the reviewer reads version 3;
// the creator withdraws, edits to something far riskier and resubmits; the reviewer's approve with
// `If-Match: "3"` still succeeded and approved the new content. Now approve honours If-Match (412),
// takes the content_hash the reviewer read (409 STALE_CONTENT saying what changed since), and
// approval.require_content_hash makes the hash mandatory. The dashboard's approve/reject send the
// hash of what they showed; the CLI's `changeset approve` the one given with --content-hash, never
// one it fetched itself (which got past the switch on content its user never saw).
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChangeSet } from '../../src/core/types.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { ACTION_SPECS } from '../../src/web/components/action-specs.js';
import { type Api, ApiError } from '../../src/web/lib/api.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';
import { run } from '../helpers/run-cli.js';

type Headers = Record<string, string>;

describeEachBackend('stale approval (issue 19: decisions bound to content)', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let strict: LedgerApp;
  let url: string;
  let strictUrl: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const config = {
      ...DEFAULT_ENGINE_CONFIG,
      approval: { ...DEFAULT_ENGINE_CONFIG.approval, require_content_hash: true },
    };
    strict = await buildApp({ engine: new Engine({ db: f.db, config }) });
    strictUrl = await strict.listen({ port: 0, host: '127.0.0.1' });
    for (const who of ['Agent-D', 'alice']) tokens[who] = (await f.engine.issueToken(null, who)).token;
  });
  afterAll(async () => {
    await strict.close();
    await app.close();
    await f.db.close();
  });

  const call = (
    who: string,
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    payload?: unknown,
    headers: Headers = {},
    on: LedgerApp = app,
  ) =>
    on.inject({
      method,
      url: `/api/ledger/changesets${path}`,
      headers: { authorization: `Bearer ${tokens[who]}`, ...headers },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });

  /** Submitted, read by the reviewer, then withdrawn, made riskier and resubmitted by its creator. */
  async function swappedAfterReview() {
    const created = await call('Agent-D', 'POST', '', configChange(undefined, { approval_chain: ['alice'] }));
    const id = created.json().id as string;
    expect((await call('Agent-D', 'POST', `/${id}/submit`)).statusCode).toBe(200);
    const read = await call('alice', 'GET', `/${id}`);
    const seen = read.json() as ChangeSet;
    expect(read.headers.etag).toBe(`"${seen.version}"`);
    expect((await call('Agent-D', 'POST', `/${id}/withdraw`, { reason: 'one more thing' })).statusCode).toBe(200);
    const riskier = [
      { operation_type: 'CREATE', target_type: 'CONFIG', target_id: `${id}.open`, after_state: { firewall: 'off' } },
    ];
    const edited = await call('Agent-D', 'PATCH', `/${id}`, { items: riskier, title: 'Same title, honest' });
    expect(edited.statusCode, edited.body).toBe(200);
    expect((await call('Agent-D', 'POST', `/${id}/submit`)).statusCode).toBe(200);
    const now = (await call('alice', 'GET', `/${id}`)).json() as ChangeSet;
    expect(now.status).toBe('PENDING_APPROVAL');
    expect(now.content_hash).not.toBe(seen.content_hash);
    return { id, seen, now };
  }

  const decisionsOn = async (id: string) =>
    (await f.db.query('SELECT approver_id FROM approvals WHERE change_set = $1', [id])).rows;

  it("refuses the reviewer's approve with the If-Match it read (412), and records nothing", async () => {
    const { id, seen, now } = await swappedAfterReview();
    const approve = await call(
      'alice',
      'POST',
      `/${id}/approve`,
      { decision: 'APPROVED' },
      { 'if-match': `"${seen.version}"` },
    );
    expect(approve.statusCode, approve.body).toBe(412);
    expect(approve.json()).toMatchObject({ code: 'PRECONDITION_FAILED', error: 'Precondition Failed' });
    expect(approve.json().message).toContain(`is at version ${now.version}, not ${seen.version}`);
    expect(await decisionsOn(id)).toEqual([]);
    expect((await call('alice', 'GET', `/${id}`)).json()).toMatchObject({
      status: 'PENDING_APPROVAL',
      version: now.version,
    });
    // The version just read is accepted.
    const current = await call(
      'alice',
      'POST',
      `/${id}/approve`,
      { decision: 'APPROVED' },
      { 'if-match': `"${now.version}"` },
    );
    expect(current.json()).toMatchObject({ status: 'APPROVED' });
  });

  it('refuses a decision on a content_hash no longer current with 409 STALE_CONTENT, saying what changed since', async () => {
    const { id, seen, now } = await swappedAfterReview();
    for (const decision of ['APPROVED', 'REJECTED']) {
      const stale = await call('alice', 'POST', `/${id}/approve`, { decision, content_hash: seen.content_hash });
      expect(stale.statusCode, stale.body).toBe(409);
      const body = stale.json();
      expect(body).toMatchObject({ statusCode: 409, code: 'STALE_CONTENT', error: 'Conflict' });
      expect(body.message).toContain(seen.content_hash);
      expect(body.message).toContain(now.content_hash);
      expect(body.message).toContain(`version ${now.version}`);
      expect(body.message).toMatch(/edited since: title, items by Agent-D at /);
      expect(body.details).toEqual([
        {
          path: 'content_hash',
          message: 'is not the current content hash',
          reviewed_content_hash: seen.content_hash,
          current_content_hash: now.content_hash,
          current_version: now.version,
          updated_by: 'Agent-D',
          updated_at: now.updated_at,
          edits_since: [
            { at: expect.any(String), by: 'Agent-D', fields: ['title', 'items'], content_hash: now.content_hash },
          ],
        },
      ]);
    }
    expect(await decisionsOn(id)).toEqual([]);
    // A hash that was never this change-set's says so.
    const foreign = `sha256:${'0'.repeat(64)}`;
    const never = await call('alice', 'POST', `/${id}/approve`, { decision: 'APPROVED', content_hash: foreign });
    expect([never.statusCode, never.json().code]).toEqual([409, 'STALE_CONTENT']);
    expect(never.json().message).toContain(`(${foreign}): that hash was never the content of`);
    expect(never.json().details[0].edits_since).toBeNull();
    // The hash of what is there now is accepted.
    const fresh = await call('alice', 'POST', `/${id}/approve`, {
      decision: 'APPROVED',
      content_hash: now.content_hash,
    });
    expect(fresh.json()).toMatchObject({ status: 'APPROVED', received_approvals: 1 });
    expect(await decisionsOn(id)).toEqual([{ approver_id: 'alice' }]);
  });

  it('refuses a content_hash that is not one, and keeps deciding without If-Match and content_hash as before', async () => {
    const { id } = await swappedAfterReview();
    const malformed = await call('alice', 'POST', `/${id}/approve`, { decision: 'APPROVED', content_hash: 'abc' });
    expect([malformed.statusCode, malformed.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    const paths = (malformed.json().details as { path: string }[]).map((detail) => detail.path);
    expect(new Set(paths)).toEqual(new Set(['content_hash']));
    const unbound = await call('alice', 'POST', `/${id}/approve`, { decision: 'APPROVED' });
    expect(unbound.json()).toMatchObject({ status: 'APPROVED' });
  });

  it('with approval.require_content_hash, a decision without the hash is refused (400 at content_hash)', async () => {
    const { id, now } = await swappedAfterReview();
    for (const body of [{ decision: 'APPROVED' }, { decision: 'REJECTED', reason: 'no', content_hash: null }]) {
      const missing = await call('alice', 'POST', `/${id}/approve`, body, {}, strict);
      expect(missing.statusCode, missing.body).toBe(400);
      expect(missing.json().code).toBe('VALIDATION_FAILED');
      expect(missing.json().details).toEqual([
        {
          path: 'content_hash',
          message: expect.stringMatching(/^is required \(approval\.require_content_hash is on\)/),
        },
      ]);
    }
    expect(await decisionsOn(id)).toEqual([]);
    const bound = await call(
      'alice',
      'POST',
      `/${id}/approve`,
      { decision: 'APPROVED', content_hash: now.content_hash },
      {},
      strict,
    );
    expect(bound.json()).toMatchObject({ status: 'APPROVED' });
  });

  it("the dashboard's approve and reject send the hash of the change-set they showed", async () => {
    // The dashboard's own action code, over a transport that hands its requests to the app.
    const api: Api = {
      token: tokens['alice']!,
      get: () => Promise.reject(new Error('not used')),
      async post<T>(path: string, body?: unknown): Promise<T> {
        const response = await app.inject({
          method: 'POST',
          url: `/api/ledger${path}`,
          headers: { authorization: `Bearer ${tokens['alice']}` },
          payload: (body ?? {}) as Record<string, unknown>,
        });
        const json = response.json();
        if (response.statusCode >= 400) throw new ApiError(response.statusCode, json.code, json.message, json.details);
        return json as T;
      },
    };
    const { seen, now } = await swappedAfterReview();
    const input = { reason: 'ok', mode: 'ATOMIC' as const, force: false };
    for (const action of ['approve', 'reject'] as const) {
      const refused = await ACTION_SPECS[action].run(api, seen, input).then(
        () => null,
        (error: unknown) => error as ApiError,
      );
      expect(refused).toBeInstanceOf(ApiError);
      expect(refused?.code).toBe('STALE_CONTENT');
    }
    expect(await ACTION_SPECS.approve.run(api, now, input)).toMatch(/approved by you; status is now/i);
  });

  it("the CLI's approve sends the hash it was given, never one it fetched itself, and prints the one decided on", async () => {
    const cli = (who: string, on: string, ...args: string[]) => run([...args, '--url', on, '--token', tokens[who]!]);
    const { id, seen, now } = await swappedAfterReview();
    const approve = ['changeset', 'approve', id, '--decision', 'approve'];
    const stale = await cli('alice', url, ...approve, '--content-hash', seen.content_hash);
    expect(stale.code).toBe(1);
    expect(stale.err).toMatch(/^changeledger: STALE_CONTENT: change-set .* is not the content you reviewed/);
    expect(await decisionsOn(id)).toEqual([]);
    // Under approval.require_content_hash a decision without the hash its user reviewed is refused:
    // the CLI no longer fetches the current hash and sends it as if it had been reviewed.
    const unbound = await cli('alice', strictUrl, ...approve);
    expect(unbound.code).toBe(1);
    expect(unbound.err).toMatch(
      /VALIDATION_FAILED: .*content_hash: is required \(approval\.require_content_hash is on\)/,
    );
    expect(unbound.err).toMatch(/hint: pass --content-hash .*changeledger changeset show <id> prints it/);
    expect(await decisionsOn(id)).toEqual([]);
    // Without the switch the server decides on the content it finds, and the CLI prints which.
    const lax = await cli('alice', url, ...approve);
    expect(lax).toMatchObject({
      code: 0,
      out: `APPROVED recorded; ${now.change_set_id} is now APPROVED (1/1 approvals)\ndecided on content ${now.content_hash}`,
      err: '',
    });
    const { rows } = await f.db.query<{ content_hash: string }>(
      'SELECT content_hash FROM approvals WHERE change_set = $1',
      [id],
    );
    expect(rows).toEqual([{ content_hash: now.content_hash }]);
  });
});
