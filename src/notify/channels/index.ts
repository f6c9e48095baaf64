// Every configured channel, built by type and named as in `notifications.channels`.
import type { ChannelConfig, NotificationsConfig } from '../notify-config.js';
import { amqpChannel } from './amqp.js';
import type { Channel } from './channel.js';
import { emailChannel } from './email.js';
import { natsChannel } from './nats.js';
import { slackChannel } from './slack.js';
import { webhookChannel } from './webhook.js';

function createChannel(config: ChannelConfig, options: { dashboardUrl: string }): Channel {
  switch (config.type) {
    case 'webhook':
      return webhookChannel(config);
    case 'email':
      return emailChannel(config, options);
    case 'slack':
      return slackChannel(config, options);
    case 'nats':
      return natsChannel(config);
    case 'amqp':
      return amqpChannel(config);
  }
}

export function createChannels(
  notifications: NotificationsConfig,
  options: { dashboardUrl: string },
): Record<string, Channel> {
  return Object.fromEntries(
    Object.entries(notifications.channels).map(([name, config]) => [name, createChannel(config, options)]),
  );
}
