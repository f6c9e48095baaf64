// Slack: an incoming webhook (posts to its own channel) or a bot token (chat.postMessage to a
// principal's slack_id, a direct message, or to the configured channel). Block Kit from messages.ts.
import { decisionBindingOf, renderMessage, type SlackPayload, slackPayload } from '../messages.js';
import type { SlackChannel } from '../notify-config.js';
import { type Channel, DeliveryError, type OutgoingMessage, retryAfterMs } from './channel.js';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'changeledger' };

/** A 429: retried, but not before Slack's Retry-After (the dispatcher honours retryAfterMs). */
function rateLimited(response: Response, what: string): DeliveryError {
  const after = response.headers.get('retry-after');
  const error = new DeliveryError(`${what} rate limited (429)${after ? `, Retry-After ${after}s` : ''}`);
  error.retryAfterMs = retryAfterMs(after, Date.now());
  return error;
}

/** Incoming webhook: Slack answers 200 "ok", anything else is a failure worth retrying. */
async function postToWebhook(url: string, payload: SlackPayload, signal: AbortSignal): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(payload), signal });
  const body = await response.text().catch(() => '');
  if (response.status === 429) throw rateLimited(response, 'slack webhook');
  if (response.status !== 200 || body.trim() !== 'ok') {
    throw new DeliveryError(`slack webhook answered ${response.status}${body ? `: ${body.slice(0, 200)}` : ''}`);
  }
}

/** chat.postMessage: Slack answers 200 with {ok: false, error} on failure. */
async function postMessage(config: SlackChannel, channel: string, payload: SlackPayload, signal: AbortSignal) {
  const response = await fetch(`${config.api_url.replace(/\/+$/, '')}/chat.postMessage`, {
    method: 'POST',
    headers: { ...JSON_HEADERS, authorization: `Bearer ${config.bot_token}` },
    body: JSON.stringify({ channel, ...payload }),
    signal,
  });
  if (response.status === 429) throw rateLimited(response, 'slack chat.postMessage');
  const body = await response.text().catch(() => '');
  let answer: { ok?: unknown; error?: unknown } = {};
  try {
    answer = JSON.parse(body) as typeof answer;
  } catch {
    // Not JSON: reported below with the status.
  }
  if (response.ok && answer.ok === true) return;
  const reason = typeof answer.error === 'string' ? answer.error : body.slice(0, 200) || 'no answer';
  throw new DeliveryError(`slack chat.postMessage to ${channel} failed (${response.status}): ${reason}`);
}

export function slackChannel(config: SlackChannel, options: { dashboardUrl: string }): Channel {
  return {
    async send(message: OutgoingMessage, signal: AbortSignal): Promise<void> {
      // With the app's signing secret, an approval request carries Approve / Reject buttons (issue 16).
      const binding = config.signing_secret && config.bot_token ? decisionBindingOf(message.envelope) : null;
      const payload = slackPayload(renderMessage(message.envelope, options), binding);
      if (config.webhook_url) return postToWebhook(config.webhook_url, payload, signal);
      // A principal's slack_id (a user id) opens a direct message; else the configured channel.
      const channel = message.address ?? config.channel;
      if (!channel) throw new DeliveryError(`delivery ${message.delivery_id} has no Slack user or channel`);
      return postMessage(config, channel, payload, signal);
    },
  };
}
