// The `notifications` configuration: channels, routes and the dispatcher's settings, with the
// rules a schema cannot say (what each channel type needs, routes naming real channels and events).
import { type Static, Type } from 'typebox';
import {
  bool,
  defaultsOf,
  int,
  list,
  map,
  millis,
  oneOf,
  type Problem,
  type Resolved,
  section,
  str,
  text,
  withDefaults,
} from '../core/config-kit.js';
import { EVENT_TYPES } from '../core/events.js';
import { compileRoutes, DEFAULT_ROUTES, RouteCompileError, type RouteDefinition } from '../core/routing.js';
import { isWellFormedSecret } from './channels/webhook.js';

export const CHANNEL_TYPES = ['webhook', 'email', 'slack', 'nats', 'amqp'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export interface WebhookChannel {
  type: 'webhook';
  url: string;
  /** `whsec_…` (or a plain secret, used as is): the Standard Webhooks signing key; null sends no signature. */
  secret: string | null;
  /** Also send the pre-Standard X-Changeledger-Signature (kept for one release; default true). */
  legacy_signature: boolean;
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
  /**
   * Slack interactivity (issue 16): the Slack app's signing secret. Set, approval requests carry
   * Approve / Reject buttons and the interactions endpoint accepts requests signed with it.
   */
  signing_secret: string | null;
}

// --- Event bus channels (nats, amqp): subscribe to event types like webhooks; see docs/integrations.md.
export interface NatsChannel {
  type: 'nats';
  /** nats:// URLs of the cluster's servers. */
  servers: string[];
  /** Each event is published on `<subject_prefix>.<event type>`. */
  subject_prefix: string;
  /** The JetStream stream that must acknowledge each publish. */
  stream: string;
  /** Create `stream` (file storage, subjects `<subject_prefix>.>`) when it does not exist. */
  create_stream: boolean;
  user: string | null;
  password: string | null;
  token: string | null;
  events: string[];
}

export interface AmqpChannel {
  type: 'amqp';
  /** amqp(s)://user:password@host:port/vhost */
  url: string;
  /** A durable topic exchange (declared if absent); the routing key is the event type. */
  exchange: string;
  events: string[];
}

export const BUS_CHANNEL_KEYS = {
  nats: ['type', 'servers', 'subject_prefix', 'stream', 'create_stream', 'user', 'password', 'token', 'events'],
  amqp: ['type', 'url', 'exchange', 'events'],
} as const;

const isUrlOf = (value: unknown, protocols: RegExp): boolean =>
  typeof value === 'string' && protocols.test(value) && URL.canParse(value);

function busChannelProblems(channel: RawChannel, at: (key: string) => string): Problem[] {
  const problems: Problem[] = [];
  if (channel.type === 'nats') {
    const servers = channel['servers'] as string[] | undefined;
    if (servers === undefined || servers.length === 0)
      problems.push({ path: at('servers'), message: 'a nats channel needs at least one server' });
    for (const [i, server] of (servers ?? []).entries()) {
      if (!isUrlOf(server, /^(nats|tls):\/\//))
        problems.push({ path: at(`servers[${i}]`), message: 'must be a nats:// URL' });
    }
    const prefix = channel['subject_prefix'];
    if (prefix !== undefined && !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(String(prefix)))
      problems.push({ path: at('subject_prefix'), message: 'must be dot-separated tokens without wildcards' });
  } else if (channel.type === 'amqp') {
    if (channel['url'] === undefined) problems.push({ path: at('url'), message: 'an amqp channel needs url' });
    else if (!isUrlOf(channel['url'], /^amqps?:\/\//))
      problems.push({ path: at('url'), message: 'must be an amqp(s):// URL' });
  }
  return problems;
}

function buildBusChannel(raw: RawChannel): NatsChannel | AmqpChannel {
  const get = <T>(key: string, fallback: T): T => (raw[key] === undefined ? fallback : (raw[key] as T));
  if (raw.type === 'nats') {
    return {
      type: 'nats',
      servers: get('servers', []),
      subject_prefix: get('subject_prefix', 'changeledger.events'),
      stream: get('stream', 'CHANGELEDGER'),
      create_stream: get('create_stream', true),
      user: get('user', null),
      password: get('password', null),
      token: get('token', null),
      events: get('events', ['*']),
    };
  }
  return {
    type: 'amqp',
    url: get('url', ''),
    exchange: get('exchange', 'changeledger.events'),
    events: get('events', ['*']),
  };
}
// --- end of event bus channels.

export type ChannelConfig = WebhookChannel | EmailChannel | SlackChannel | NatsChannel | AmqpChannel;

/** The dispatcher's settings, declared once with their defaults (docs/notifications.md). */
const DispatcherSection = section({
  enabled: bool(true),
  poll_interval_ms: millis(1_000),
  batch_size: int(1, 10_000, 500),
  concurrency: int(1, 1_000, 64),
  max_attempts: int(1, 100, 8),
  backoff_base_ms: millis(1_000),
  backoff_max_ms: millis(3_600_000),
  timeout_ms: millis(10_000),
});

const Route = Type.Object(
  {
    events: list(text()),
    when: Type.Optional(text()),
    recipients: list(text()),
    channels: Type.Optional(list(text())),
  },
  { additionalProperties: false, message: 'must be a mapping' },
);

/** The file's `notifications` section: its shape; what each channel type needs is notificationProblems'. */
export const NotificationsSection = section({
  channels: map(
    Type.Object(
      {
        type: oneOf(CHANNEL_TYPES),
        url: Type.Optional(text()),
        secret: Type.Optional(text()),
        // Webhooks: also send the X-Changeledger-Signature of earlier releases.
        legacy_signature: Type.Optional(bool()),
        events: Type.Optional(list(text())),
        headers: Type.Optional(map(str())),
        host: Type.Optional(text()),
        port: Type.Optional(int(1, 65535)),
        secure: Type.Optional(bool()),
        user: Type.Optional(text()),
        password: Type.Optional(text()),
        from: Type.Optional(text()),
        webhook_url: Type.Optional(text()),
        bot_token: Type.Optional(text()),
        api_url: Type.Optional(text()),
        channel: Type.Optional(text()),
        // Slack interactivity: the Slack app's signing secret.
        signing_secret: Type.Optional(text()),
        // Event bus channels (nats, amqp).
        servers: Type.Optional(list(text())),
        subject_prefix: Type.Optional(text()),
        stream: Type.Optional(text()),
        create_stream: Type.Optional(bool()),
        token: Type.Optional(text()),
        exchange: Type.Optional(text()),
      },
      { additionalProperties: false, message: 'must be a mapping' },
    ),
    {},
  ),
  routes: list(
    Route,
    // core/routing.ts keeps the default routes (read-only lists); withDefaults hands out a copy.
    DEFAULT_ROUTES as unknown as Static<typeof Route>[],
  ),
  dispatcher: DispatcherSection,
});

export type DispatcherConfig = Resolved<typeof DispatcherSection>;

export interface NotificationsConfig {
  channels: Record<string, ChannelConfig>;
  routes: RouteDefinition[];
  dispatcher: DispatcherConfig;
}

export const DEFAULT_DISPATCHER: DispatcherConfig = Object.freeze(defaultsOf(DispatcherSection));

const KEYS_BY_TYPE: Record<ChannelType, readonly string[]> = {
  webhook: ['type', 'url', 'secret', 'legacy_signature', 'events', 'headers'],
  email: ['type', 'host', 'port', 'secure', 'user', 'password', 'from'],
  slack: ['type', 'webhook_url', 'bot_token', 'api_url', 'channel', 'signing_secret'],
  ...BUS_CHANNEL_KEYS,
};

/** A channel as the file writes it, read key by key. */
type RawChannel = Record<string, unknown> & { type: ChannelType };
/** The `notifications` section as the file writes it. */
type RawNotifications = Static<typeof NotificationsSection>;

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
  for (const [i, event] of ((channel['events'] as string[] | undefined) ?? []).entries()) {
    if (event !== '*' && !(EVENT_TYPES as readonly string[]).includes(event))
      problems.push({ path: at(`events[${i}]`), message: `unknown event type ${event}` });
  }
  if (channel.type === 'webhook') {
    needs('url', 'a webhook channel needs url');
    if (channel['url'] !== undefined && !isHttpUrl(channel['url']))
      problems.push({ path: at('url'), message: 'must be an http(s) URL' });
    if (typeof channel['secret'] === 'string' && !isWellFormedSecret(channel['secret']))
      problems.push({ path: at('secret'), message: 'a whsec_ secret must be base64 after the prefix' });
  } else if (channel.type === 'nats' || channel.type === 'amqp') {
    problems.push(...busChannelProblems(channel, at));
  } else if (channel.type === 'email') {
    needs('host', 'an email channel needs host');
    needs('from', 'an email channel needs from');
  } else if ((channel['webhook_url'] === undefined) === (channel['bot_token'] === undefined)) {
    problems.push({ path: at(''), message: 'a slack channel needs exactly one of webhook_url and bot_token' });
  } else {
    // Slack interactivity (issue 16): answering a button needs the bot token (chat.update, views.open).
    if (channel['signing_secret'] !== undefined && channel['bot_token'] === undefined)
      problems.push({
        path: at('signing_secret'),
        message: 'needs bot_token (buttons are answered through the Web API)',
      });
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
    ...Object.entries(channels).flatMap(([name, channel]) => channelProblems(name, channel as RawChannel)),
    ...routeProblems(raw?.routes ?? [], Object.keys(channels)),
  ];
}

function buildChannel(raw: RawChannel): ChannelConfig {
  if (raw.type === 'nats' || raw.type === 'amqp') return buildBusChannel(raw);
  const get = <T>(key: string, fallback: T): T => (raw[key] === undefined ? fallback : (raw[key] as T));
  if (raw.type === 'webhook') {
    return {
      type: 'webhook',
      url: get('url', ''),
      secret: get('secret', null),
      legacy_signature: get('legacy_signature', true),
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
    signing_secret: get('signing_secret', null),
  };
}

export function buildNotifications(raw: RawNotifications | undefined): NotificationsConfig {
  const { channels, routes, dispatcher } = withDefaults(NotificationsSection, raw);
  return {
    channels: Object.fromEntries(
      Object.entries(channels).map(([name, channel]) => [name, buildChannel(channel as RawChannel)]),
    ),
    routes: routes as RouteDefinition[],
    dispatcher,
  };
}
