// Idempotency-Key on every POST (per principal, 24 h): a repeat with the same body replays the
// first response; with a different body it is refused. Refused requests leave no key behind.
//
// A response that carries a secret (a token, an enrolment code: routes with `config.issuesSecret`)
// is stored without it, and a repeat of such a request is refused with SECRET_SHOWN_ONCE after its
// authorization is checked again: a secret is shown once, never kept, never replayed, and a caller
// who has lost the right to issue it learns nothing more than FORBIDDEN.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canonicalJson, sha256Hex } from '../core/canonical-json.js';
import { LedgerError } from '../core/errors.js';
import type { Json, Principal } from '../core/types.js';
import type { Engine } from '../engine/index.js';

const TTL_HOURS = 24;
const KEY = /^[\x21-\x7e]{1,255}$/;

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey: string | null;
  }
  interface FastifyContextConfig {
    /** The response holds a secret: stored without it, never replayed; `authorize` re-checks a repeat. */
    issuesSecret?: { authorize(principal: Principal): void };
  }
}

/** The fields of a response that hold secrets: tokens and enrolment codes (and the URL carrying one). */
const SECRET_FIELDS = new Set(['token', 'code', 'redeem_url']);

/** The response with every secret string left out, at any depth. */
export function withoutSecrets(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, field]) => !(SECRET_FIELDS.has(key) && typeof field === 'string'))
      .map(([key, field]) => [key, withoutSecrets(field)]),
  );
}

function requestHash(request: FastifyRequest): string {
  const body = request.body === undefined ? null : request.body;
  return sha256Hex(`${request.method} ${request.url}\n${canonicalJson(body)}`);
}

async function replayOrClaim(engine: Engine, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const key = request.headers['idempotency-key'];
  if (request.method !== 'POST' || key === undefined || !request.principal) return;
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new LedgerError('VALIDATION_FAILED', 'Idempotency-Key must be 1–255 visible ASCII characters', [
      { path: 'headers.idempotency-key', message: 'invalid' },
    ]);
  }
  const hash = requestHash(request);
  const stored = await engine.claimIdempotencyKey({
    principal_id: request.principal.id,
    key,
    request_hash: hash,
    ttl_hours: TTL_HOURS,
  });
  if (!stored) {
    request.idempotencyKey = key;
    return;
  }
  if (stored.request_hash !== hash) {
    throw new LedgerError(
      'IDEMPOTENCY_KEY_REUSED',
      'this Idempotency-Key was used with a different request: use a new key',
    );
  }
  if (stored.status_code === null) {
    throw new LedgerError(
      'CONFLICT',
      'a request with this Idempotency-Key is still in progress: retry shortly',
      undefined,
      {
        fix: 'retry in a moment with the same Idempotency-Key and body: you will get the first answer',
      },
    );
  }
  const secret = request.routeOptions.config.issuesSecret;
  if (secret) {
    secret.authorize(request.principal);
    throw new LedgerError(
      'SECRET_SHOWN_ONCE',
      'the request with this Idempotency-Key already issued a secret, and a secret is shown only once: ' +
        'it is not kept for replays. If the first answer was lost, revoke what it issued (details) and ask again with a new key',
      [{ message: 'what the first request issued, without its secret', issued: stored.response }],
    );
  }
  reply.header('idempotent-replayed', 'true');
  await reply.status(stored.status_code).send(stored.response);
}

export function registerIdempotency(app: FastifyInstance, engine: Engine): void {
  app.decorateRequest('idempotencyKey', null);
  app.addHook('preHandler', (request, reply) => replayOrClaim(engine, request, reply));
  app.addHook('onSend', async (request, reply, payload) => {
    const key = request.idempotencyKey;
    const principal = request.principal;
    if (!key || !principal) return payload;
    request.idempotencyKey = null;
    const status = reply.statusCode;
    // A refusal only frees the key; a success is stored for replays, parsed once, without its secrets.
    let settle: () => Promise<void>;
    if (status >= 400) settle = () => engine.releaseIdempotencyKey(principal.id, key);
    else {
      const parsed = typeof payload === 'string' ? (JSON.parse(payload) as Json) : null;
      const response = request.routeOptions.config.issuesSecret ? withoutSecrets(parsed) : parsed;
      settle = () => engine.completeIdempotencyKey(principal.id, key, status, response);
    }
    // The answer stands whatever happens to the key: under overload (no pool connection in time) a
    // refusal still goes out as itself, and a success that committed does not turn into a 503. The
    // key is settled later instead, so that a retry does not find it "still in progress" for good.
    try {
      await settle();
    } catch (error) {
      request.log.warn({ err: error }, 'Idempotency-Key not settled; trying again shortly');
      settleLater(settle, request.log);
    }
    return payload;
  });
}

/** Tries `settle` again a few times, a second apart, off the request. */
function settleLater(settle: () => Promise<void>, log: FastifyRequest['log'], attempt = 1): void {
  setTimeout(() => {
    settle().catch((error: unknown) => {
      if (attempt < 5) settleLater(settle, log, attempt + 1);
      else log.error({ err: error }, 'Idempotency-Key could not be settled');
    });
  }, 1_000).unref();
}
