// Slack's request signing (https://api.slack.com/authentication/verifying-requests-from-slack):
// `X-Slack-Signature` is `v0=` + the hex HMAC-SHA256, keyed with the app's signing secret, of
// `v0:{X-Slack-Request-Timestamp}:{raw body}`. A timestamp more than five minutes from now is
// refused, the comparison is constant-time, and each signature is accepted once (the caller claims
// it, see store/slack-requests.ts). Every refusal is 401 UNAUTHENTICATED and says which check failed,
// never the secret or the expected signature.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { LedgerError } from '../core/errors.js';

/** How far a request's timestamp may be from the server's clock, either way. */
export const SLACK_WINDOW_SECONDS = 300;

const VERSION = 'v0';
const SIGNATURE = /^v0=[0-9a-f]{64}$/;

/**
 * Every refusal's fix: this route is Slack's, so a bearer token (the catalog's fix for a 401) is
 * not what is missing; the operator reading it needs the signing set-up and the clock.
 */
export const SLACK_SIGNATURE_FIX =
  "Only Slack calls this route: point the Slack app's Interactivity Request URL here, set the channel's signing_secret to that app's Signing Secret, and keep this server's clock in sync (NTP).";

/** A 401 of this route, with its fix (the signing set-up unless told otherwise). */
export const slackRefusal = (message: string, fix = SLACK_SIGNATURE_FIX) =>
  new LedgerError('UNAUTHENTICATED', message, undefined, { fix });
const refused = (message: string) => slackRefusal(message);

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
};

/**
 * Of `secrets` (one per Slack app), the one that signed this request, with the signature to claim;
 * 401 UNAUTHENTICATED when none did, the signature is missing or malformed, or the timestamp is stale.
 */
export function verifySlackRequest<T extends { signing_secret: string }>(
  apps: readonly T[],
  headers: IncomingHttpHeaders,
  rawBody: string,
  now: Date,
): { app: T; signature: string } {
  const timestamp = header(headers, 'x-slack-request-timestamp');
  const signature = header(headers, 'x-slack-signature');
  if (timestamp === undefined || signature === undefined)
    throw refused('missing X-Slack-Signature or X-Slack-Request-Timestamp: not signed by Slack');
  if (!/^\d{1,12}$/.test(timestamp)) throw refused('X-Slack-Request-Timestamp must be a Unix time in seconds');
  const age = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (age > SLACK_WINDOW_SECONDS)
    throw refused(
      `X-Slack-Request-Timestamp is more than ${SLACK_WINDOW_SECONDS / 60} minutes from the server's clock: refused as possibly replayed`,
    );
  if (!SIGNATURE.test(signature)) throw refused('X-Slack-Signature must be v0= followed by 64 hex digits');
  const given = Buffer.from(signature, 'latin1');
  // Every app's secret is tried, each compared in constant time, so timing tells nothing about which.
  let matched: T | undefined;
  for (const app of apps) {
    const expected = `${VERSION}=${createHmac('sha256', app.signing_secret).update(`${VERSION}:${timestamp}:${rawBody}`).digest('hex')}`;
    if (timingSafeEqual(Buffer.from(expected, 'latin1'), given) && matched === undefined) matched = app;
  }
  if (matched === undefined)
    throw refused('X-Slack-Signature does not match the request: not signed by this Slack app');
  return { app: matched, signature };
}
