// Webhook: POST of the envelope as JSON, signed per Standard Webhooks (https://www.standardwebhooks.com):
// `webhook-id` (the delivery id, the same on every retry), `webhook-timestamp` (seconds) and
// `webhook-signature` = `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`. With `legacy_signature`
// the pre-Standard `X-Changeledger-Signature` (hex HMAC of the body) is sent too, for one release.
// node:http(s) with one keep-alive agent per webhook rather than fetch: on the delivery benchmark
// fetch managed about a fifth of the requests per second. Redirects are not followed (a signed
// POST is not re-sent elsewhere); a 3xx counts as a failure like any other non-2xx answer.
import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { WebhookChannel } from '../notify-config.js';
import { type Channel, DeliveryError, type OutgoingMessage } from './channel.js';

const SECRET_PREFIX = 'whsec_';

/**
 * The HMAC key of a secret: the base64-decoded part of a `whsec_…` secret; any other (a secret
 * from before Standard Webhooks) is used as it is, its UTF-8 bytes — the key a receiver gets from
 * `whsec_` + base64 of that secret.
 */
export function signingKey(secret: string): Buffer {
  return secret.startsWith(SECRET_PREFIX)
    ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** Whether a `whsec_…` secret is well formed: non-empty standard base64 after the prefix. */
export const isWellFormedSecret = (secret: string): boolean =>
  !secret.startsWith(SECRET_PREFIX) ||
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(
    secret.slice(SECRET_PREFIX.length),
  );

/** The legacy `X-Changeledger-Signature`: `sha256=` + hex HMAC-SHA256 of the body. */
export const signature = (secret: string, body: string): string =>
  `sha256=${createHmac('sha256', signingKey(secret)).update(body).digest('hex')}`;

/** The Standard Webhooks `webhook-signature`: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`. */
export const standardSignature = (secret: string, id: string, timestamp: number, body: string): string =>
  `v1,${createHmac('sha256', signingKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;

/** Connections kept open per webhook: enough for the dispatcher's default concurrency. */
const MAX_SOCKETS = 64;
/** How much of a failing answer is kept for last_error. */
const KEEP_BYTES = 200;

function readAnswer(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    // Read to the end whatever the size, so the connection can be reused.
    response.on('data', (chunk: Buffer) => {
      if (kept < KEEP_BYTES) chunks.push(chunk);
      kept += chunk.length;
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').slice(0, KEEP_BYTES)));
    response.on('error', reject);
  });
}

export function webhookChannel(config: WebhookChannel): Channel {
  const url = new URL(config.url);
  const secure = url.protocol === 'https:';
  const request = secure ? httpsRequest : httpRequest;
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS })
    : new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  return {
    send(message: OutgoingMessage, signal: AbortSignal): Promise<void> {
      const body = JSON.stringify(message.envelope);
      const headers: Record<string, string | number> = {
        ...config.headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'changeledger',
        'x-changeledger-event': message.envelope.type,
        'x-changeledger-delivery': message.delivery_id,
        'webhook-id': message.delivery_id,
        // Real time, not the dispatcher's clock: receivers check it against theirs (5 min by default).
        'webhook-timestamp': Math.floor(Date.now() / 1000),
      };
      if (config.secret) {
        const timestamp = headers['webhook-timestamp'] as number;
        headers['webhook-signature'] = standardSignature(config.secret, message.delivery_id, timestamp, body);
        if (config.legacy_signature) headers['x-changeledger-signature'] = signature(config.secret, body);
      }
      return new Promise<void>((resolve, reject) => {
        const failed = (error: unknown) =>
          reject(
            signal.aborted
              ? new DeliveryError(`webhook did not answer in time (${String(signal.reason)})`, { cause: error })
              : error,
          );
        const req = request(url, { method: 'POST', headers, agent, signal }, (response) => {
          readAnswer(response).then((text) => {
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new DeliveryError(`webhook answered ${status}${text ? `: ${text}` : ''}`));
          }, failed);
        });
        req.on('error', failed);
        req.end(body);
      });
    },
    async close(): Promise<void> {
      agent.destroy();
    },
  };
}
