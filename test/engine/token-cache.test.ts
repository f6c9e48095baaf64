// The engine's token cache (config auth.token_cache_ms): a second request with the same token sends
// no SQL; changes made through the same engine take effect at once; changes made elsewhere (another
// instance, the database itself) only after the TTL; unknown tokens are never cached.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/core/types.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../src/engine/engine-config.js';
import { authenticate, hashToken, TokenCache } from '../../src/engine/principals.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture, uniqueId } from '../helpers/fixture.js';
import { SpyDb } from '../helpers/spy-db.js';

const withCache = (token_cache_ms: number): EngineConfig => ({
  ...DEFAULT_ENGINE_CONFIG,
  auth: { ...DEFAULT_ENGINE_CONFIG.auth, token_cache_ms },
});

const TOKEN_LOOKUP = /FROM tokens t JOIN principals/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachBackend('engine token cache', (backend) => {
  let f: Fixture;
  let spy: SpyDb;
  /** The engine under test, with a long TTL: only what this engine does may change its answers. */
  let engine: Engine;
  let admin: Principal;

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    spy = new SpyDb(f.db);
    engine = new Engine({ db: spy, config: withCache(60_000) });
    admin = f.p['root']!;
  });
  afterAll(() => f.db.close());

  /** A fresh principal of its own and its token, created through `through` (default: another engine). */
  async function principalWithToken(groups: string[] = [], through: Engine = f.engine) {
    const id = uniqueId('tc');
    const { principal, token } = await through.createPrincipal(null, {
      id,
      kind: 'agent',
      display_name: id,
      email: null,
      slack_id: null,
      groups,
      risk: null,
      active: true,
    });
    return { principal, token: token!.token, tokenId: token!.token_id };
  }
  type Made = Awaited<ReturnType<typeof principalWithToken>>;

  it('answers a second lookup of the same token without any SQL', async () => {
    const { principal, token } = await principalWithToken(['security']);
    let first: Principal | null = null;
    let second: Principal | null = null;
    expect(
      await spy.count(async () => {
        first = await engine.authenticate(token);
      }),
    ).toBe(1);
    expect(
      await spy.count(async () => {
        second = await engine.authenticate(token);
      }),
    ).toBe(0);
    expect(first).toEqual(principal);
    expect(second).toEqual(principal);
  });

  it('hands out a frozen principal: no caller can change what the next one is given', async () => {
    const { principal, token } = await principalWithToken(['security']);
    const given = (await engine.authenticate(token))!;
    expect(Object.isFrozen(given)).toBe(true);
    expect(Object.isFrozen(given.groups)).toBe(true);
    expect(() => {
      (given as { active: boolean }).active = false;
    }).toThrow(TypeError);
    expect(() => given.groups.push('admin')).toThrow(TypeError);
    expect(await engine.authenticate(token)).toEqual(principal);
    // The engine's own copy is what is frozen, not the object the database handed over.
    expect(Object.isFrozen(principal)).toBe(false);
  });

  it('keys its entries by the token hash, never the token', async () => {
    const { principal, token } = await principalWithToken();
    const cache = new TokenCache(60_000);
    expect(await authenticate(engine.ctx, token, cache)).toEqual(principal);
    expect(cache.size).toBe(1);
    expect(cache.get(hashToken(token))).toEqual(principal);
    expect(cache.get(token)).toBeUndefined();
  });

  it('applies a revocation through the same engine at once', async () => {
    const { principal, token, tokenId } = await principalWithToken();
    expect(await engine.authenticate(token)).toEqual(principal);
    await engine.revokeToken(admin, tokenId);
    expect(await engine.authenticate(token)).toBeNull();
  });

  it('applies a deactivation through the same engine at once', async () => {
    const { principal, token } = await principalWithToken();
    expect(await engine.authenticate(token)).toEqual(principal);
    await engine.updatePrincipal(admin, principal.id, { active: false });
    expect(await engine.authenticate(token)).toBeNull();
    await engine.updatePrincipal(admin, principal.id, { active: true });
    expect(await engine.authenticate(token)).toEqual(principal);
  });

  it('applies a group change through the same engine at once', async () => {
    const { principal, token } = await principalWithToken(['security']);
    expect((await engine.authenticate(token))?.groups).toEqual(['security']);
    await engine.updatePrincipal(admin, principal.id, { groups: ['operator'] });
    expect(await engine.authenticate(token)).toEqual({ ...principal, groups: ['operator'] });
  });

  it('clears the cache even when the change fails', async () => {
    const { principal, token } = await principalWithToken();
    expect(await engine.authenticate(token)).toEqual(principal);
    // Deactivated straight in the database: only a clear makes this engine see it before 60 s.
    await f.db.query('UPDATE principals SET active = false WHERE id = $1', [principal.id]);
    expect(await engine.authenticate(token)).toEqual(principal);
    await expect(engine.revokeToken(admin, 'no-such-token')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await engine.authenticate(token)).toBeNull();
  });

  it('does not keep what a lookup read before a change that finished while it was under way', async () => {
    const { principal, token, tokenId } = await principalWithToken();
    const { reached, release } = spy.holdNext(TOKEN_LOOKUP);
    const inFlight = engine.authenticate(token);
    await reached; // the lookup has read the token as valid…
    await engine.revokeToken(admin, tokenId); // …and the revocation commits before it answers
    release();
    expect(await inFlight).toEqual(principal); // that request was already on its way
    expect(await engine.authenticate(token)).toBeNull(); // the next one is not let in on a stale read
  });

  it('never caches an unknown token: one created a moment later works at once', async () => {
    const { principal } = await principalWithToken();
    const token = `clg_${randomBytes(32).toString('base64url')}`;
    for (let i = 0; i < 2; i++) {
      expect(
        await spy.count(async () => {
          expect(await engine.authenticate(token)).toBeNull();
        }),
      ).toBe(1);
    }
    // Issued elsewhere (another instance, the CLI): straight into the database.
    await f.db.query(
      `INSERT INTO tokens (id, principal_id, token_hash, name, created_at, created_by)
       VALUES ($1, $2, $3, NULL, now(), 'system')`,
      [uniqueId('tok'), principal.id, hashToken(token)],
    );
    expect(await engine.authenticate(token)).toEqual(principal);
  });

  it('never caches an empty token or asks the database about it', async () => {
    expect(await spy.count(async () => expect(await engine.authenticate('')).toBeNull())).toBe(0);
  });

  describe('changes made elsewhere', () => {
    // Long enough that the milliseconds between the lookup and the check never reach it, even on a
    // machine busy with other work (200 ms was reached there).
    const TTL = 1_000;

    const CHANGES: [string, (made: Made) => Promise<unknown>][] = [
      ['a revocation by another engine instance', (made) => f.engine.revokeToken(admin, made.tokenId)],
      [
        'a revocation written straight to the database',
        (made) => f.db.query('UPDATE tokens SET revoked_at = now() WHERE id = $1', [made.tokenId]),
      ],
      [
        'a deactivation written straight to the database',
        (made) => f.db.query('UPDATE principals SET active = false WHERE id = $1', [made.principal.id]),
      ],
    ];

    for (const [what, change] of CHANGES) {
      it(`sees ${what} only once token_cache_ms has passed`, async () => {
        const short = new Engine({ db: spy, config: withCache(TTL) });
        const made = await principalWithToken();
        const started = performance.now();
        expect(await short.authenticate(made.token)).toEqual(made.principal);
        await change(made);
        // Before the TTL: still the cached principal, and no query (the documented trade-off).
        let early: Principal | null = null;
        const sent = await spy.count(async () => {
          early = await short.authenticate(made.token);
        });
        expect(performance.now() - started).toBeLessThan(TTL);
        expect(early).toEqual(made.principal);
        expect(sent).toBe(0);
        // An engine that did not look the token up before sees the change at once.
        expect(await new Engine({ db: spy, config: withCache(TTL) }).authenticate(made.token)).toBeNull();
        await sleep(TTL - (performance.now() - started) + 20);
        expect(await short.authenticate(made.token)).toBeNull();
      });
    }
  });

  it('with token_cache_ms 0, asks the database every time and sees every change at once', async () => {
    const off = new Engine({ db: spy, config: withCache(0) });
    const { principal, token, tokenId } = await principalWithToken();
    for (let i = 0; i < 3; i++) {
      expect(
        await spy.count(async () => {
          expect(await off.authenticate(token)).toEqual(principal);
        }),
      ).toBe(1);
    }
    await f.db.query('UPDATE tokens SET revoked_at = now() WHERE id = $1', [tokenId]);
    expect(await off.authenticate(token)).toBeNull();
  });
});

describe('TokenCache', () => {
  const principal = (id: string): Principal => ({
    id,
    kind: 'agent',
    display_name: null,
    email: null,
    slack_id: null,
    groups: ['g'],
    risk: null,
    active: true,
  });

  function clocked(ttl: number, max?: number) {
    const clock = { now: 1_000 };
    return { clock, cache: new TokenCache(ttl, max, () => clock.now) };
  }

  it('expires an entry ttl after its lookup began', () => {
    const { clock, cache } = clocked(50);
    const lookup = cache.begin();
    clock.now += 10; // the query's time counts towards the TTL
    cache.set('h', principal('a'), lookup);
    clock.now += 39;
    expect(cache.get('h')?.id).toBe('a');
    clock.now += 1;
    expect(cache.get('h')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const { clock, cache } = clocked(60_000, 3);
    for (const id of ['a', 'b', 'c', 'd']) {
      cache.set(id, principal(id), cache.begin());
      clock.now += 1;
    }
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect(['b', 'c', 'd'].map((id) => cache.get(id)?.id)).toEqual(['b', 'c', 'd']);
  });

  it('defaults to 10,000 entries', () => {
    const { cache } = clocked(60_000);
    expect(cache.maxEntries).toBe(10_000);
    for (let i = 0; i < 10_050; i++) cache.set(`h${i}`, principal(`p${i}`), cache.begin());
    expect(cache.size).toBe(10_000);
    expect(cache.get('h49')).toBeUndefined();
    expect(cache.get('h50')?.id).toBe('p50');
  });

  it('stores nothing from a lookup that began before a clear', () => {
    const { cache } = clocked(60_000);
    const lookup = cache.begin();
    cache.clear();
    cache.set('h', principal('a'), lookup);
    expect(cache.get('h')).toBeUndefined();
    cache.set('h', principal('a'), cache.begin());
    expect(cache.get('h')?.id).toBe('a');
  });

  it('stores nothing when off', () => {
    const { cache } = clocked(0);
    expect(cache.enabled).toBe(false);
    const given = cache.set('h', principal('a'), cache.begin());
    expect(Object.isFrozen(given)).toBe(true);
    expect(cache.size).toBe(0);
  });
});
