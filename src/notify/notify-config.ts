// The `notifications` configuration: channels, routes and the dispatcher's settings, with the
// rules a schema cannot say (what each channel type needs, routes naming real channels and events).
import type { Problem } from '../config-schema.js';
import { EVENT_TYPES } from '../core/events.js';
import { compileRoutes, DEFAULT_ROUTES, RouteCompileError, type RouteDefinition } from '../core/routing.js';

export const CHANNEL_TYPES = ['webhook', 'email', 'slack'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export interface WebhookChannel {
  type: 'webhook';
  url: string;
  /** HMAC-SHA256 key for X-Changeledger-Signature; null sends no signature. */
  secret: string | null;
  /** Event types this endpoint receives ('*' = all); webhooks subscribe, they are not routed to people. */
  events: string[];
  headers: Record<string, string>;
}

export interface EmailChannel {
  type: 'email';
  host: string;
  port: number;
  secure: boolean;
  user: string | null;
  password: string | null;
  from: string;
}

export interface SlackChannel {
  type: 'slack';
  /** Incoming webhook: posts to its channel. */
  webhook_url: string | null;
  /** Bot token: chat.postMessage, direct messages to principals' slack_id (or to `channel`). */
  bot_token: string | null;
  api_url: string;
  /** With a bot token: post here instead of direct messages. */
  channel: string | null;
}

export type ChannelConfig = WebhookChannel | EmailChannel | SlackChannel;

export interface DispatcherConfig {
  enabled: boolean;
  poll_interval_ms: number;
  batch_size: number;
  concurrency: number;
  max_attempts: number;
  backoff_base_ms: number;
  backoff_max_ms: number;
  timeout_ms: number;
}

export interface NotificationsConfig {
  channels: Record<string, ChannelConfig>;
  routes: RouteDefinition[];
  dispatcher: DispatcherConfig;
}

export const DEFAULT_DISPATCHER: DispatcherConfig = Object.freeze({
  enabled: true,
  poll_interval_ms: 1_000,
  batch_size: 500,
  concurrency: 64,
  max_attempts: 8,
  backoff_base_ms: 1_000,
  backoff_max_ms: 3_600_000,
  timeout_ms: 10_000,
});

const KEYS_BY_TYPE: Record<ChannelType, readonly string[]> = {
  webhook: ['type', 'url', 'secret', 'events', 'headers'],
  email: ['type', 'host', 'port', 'secure', 'user', 'password', 'from'],
  slack: ['type', 'webhook_url', 'bot_token', 'api_url', 'channel'],
};

type RawChannel = Record<string, unknown> & { type: ChannelType };
type RawNotifications = {
  channels?: Record<string, RawChannel>;
  routes?: RouteDefinition[];
  dispatcher?: Partial<DispatcherConfig>;
};

const isHttpUrl = (value: unknown): boolean =>
  typeof value === 'string' && /^https?:\/\//.test(value) && URL.canParse(value);

function channelProblems(name: string, channel: RawChannel): Problem[] {
  const at = (key: string) => `notifications.channels.${name}${key ? `.${key}` : ''}`;
  const problems: Problem[] = [];
  for (const key of Object.keys(channel)) {
    if (!KEYS_BY_TYPE[channel.type].includes(key))
      problems.push({ path: at(key), message: `is not used by a ${channel.type} channel` });
  }
  const needs = (key: string, message: string) => {
    if (channel[key] === undefined) problems.push({ path: at(key), message });
  };
  if (channel.type === 'webhook') {
    needs('url', 'a webhook channel needs url');
    if (channel['url'] !== undefined && !isHttpUrl(channel['url']))
      problems.push({ path: at('url'), message: 'must be an http(s) URL' });
    for (const [i, event] of ((channel['events'] as string[] | undefined) ?? []).entries()) {
      if (event !== '*' && !(EVENT_TYPES as readonly string[]).includes(event))
        problems.push({ path: at(`events[${i}]`), message: `unknown event type ${event}` });
    }
  } else if (channel.type === 'email') {
    needs('host', 'an email channel needs host');
    needs('from', 'an email channel needs from');
  } else if ((channel['webhook_url'] === undefined) === (channel['bot_token'] === undefined)) {
    problems.push({ path: at(''), message: 'a slack channel needs exactly one of webhook_url and bot_token' });
  } else {
    for (const key of ['webhook_url', 'api_url']) {
      if (channel[key] !== undefined && !isHttpUrl(channel[key]))
        problems.push({ path: at(key), message: 'must be an http(s) URL' });
    }
  }
  return problems;
}

function routeProblems(routes: readonly RouteDefinition[], channels: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  routes.forEach((route, index) => {
    const at = (key: string) => `notifications.routes[${index}].${key}`;
    route.events.forEach((event, i) => {
      if (event !== '*' && !(EVENT_TYPES as readonly string[]).includes(event))
        problems.push({ path: at(`events[${i}]`), message: `unknown event type ${event}` });
    });
    (route.channels ?? []).forEach((channel, i) => {
      if (!channels.includes(channel))
        problems.push({ path: at(`channels[${i}]`), message: `no channel named ${channel} in notifications.channels` });
    });
    try {
      compileRoutes([route]);
    } catch (error) {
      const message =
        error instanceof RouteCompileError
          ? error.message.replace(/^notifications\.routes\[0\]\.when /, '')
          : String(error);
      problems.push({ path: at('when'), message });
    }
  });
  return problems;
}

export function notificationProblems(raw: RawNotifications | undefined): Problem[] {
  const channels = raw?.channels ?? {};
  return [
    ...Object.entries(channels).flatMap(([name, channel]) => channelProblems(name, channel)),
    ...routeProblems(raw?.routes ?? [], Object.keys(channels)),
  ];
}

function buildChannel(raw: RawChannel): ChannelConfig {
  const get = <T>(key: string, fallback: T): T => (raw[key] === undefined ? fallback : (raw[key] as T));
  if (raw.type === 'webhook') {
    return {
      type: 'webhook',
      url: get('url', ''),
      secret: get('secret', null),
      events: get('events', ['*']),
      headers: get('headers', {}),
    };
  }
  if (raw.type === 'email') {
    const secure = get('secure', false);
    return {
      type: 'email',
      host: get('host', ''),
      port: get('port', secure ? 465 : 587),
      secure,
      user: get('user', null),
      password: get('password', null),
      from: get('from', ''),
    };
  }
  return {
    type: 'slack',
    webhook_url: get('webhook_url', null),
    bot_token: get('bot_token', null),
    api_url: get('api_url', 'https://slack.com/api'),
    channel: get('channel', null),
  };
}

export function buildNotifications(raw: RawNotifications | undefined): NotificationsConfig {
  return {
    channels: Object.fromEntries(
      Object.entries(raw?.channels ?? {}).map(([name, channel]) => [name, buildChannel(channel)]),
    ),
    routes: structuredClone((raw?.routes ?? DEFAULT_ROUTES) as RouteDefinition[]),
    dispatcher: { ...DEFAULT_DISPATCHER, ...raw?.dispatcher },
  };
}
