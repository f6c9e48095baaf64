// Slack's Web API as the interactions endpoint calls it (chat.update, chat.postEphemeral,
// views.open): JSON in, `{ok, error}` out. Slack answers 200 with `ok: false` on failure.
import type { NotificationsConfig, SlackChannel } from './notify-config.js';

/** A failed call, naming the method and Slack's error (never the token). */
export class SlackApiError extends Error {
  override name = 'SlackApiError';
}

export type SlackApp = Pick<SlackChannel, 'api_url'> & { bot_token: string };

export async function callSlack(
  app: SlackApp,
  method: 'chat.update' | 'chat.postEphemeral' | 'views.open',
  body: Record<string, unknown>,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${app.api_url.replace(/\/+$/, '')}/${method}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'changeledger',
      authorization: `Bearer ${app.bot_token}`,
    },
    body: JSON.stringify(body),
    signal,
  });
  const text = await response.text().catch(() => '');
  let answer: Record<string, unknown> = {};
  try {
    answer = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON: reported below with the status.
  }
  if (response.ok && answer['ok'] === true) return answer;
  const reason = typeof answer['error'] === 'string' ? answer['error'] : text.slice(0, 200) || 'no answer';
  throw new SlackApiError(`slack ${method} failed (${response.status}): ${reason}`);
}

/** The Slack channels that answer buttons: a bot token and the app's signing secret. */
export function interactiveSlackApps(notifications: NotificationsConfig): (SlackApp & { signing_secret: string })[] {
  return Object.values(notifications.channels).flatMap((channel) =>
    channel.type === 'slack' && channel.bot_token && channel.signing_secret
      ? [{ api_url: channel.api_url, bot_token: channel.bot_token, signing_secret: channel.signing_secret }]
      : [],
  );
}
