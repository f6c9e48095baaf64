// docs/notifications.md cannot rot: every YAML example in it is a valid configuration, and the
// default routes it shows are the ones the code applies.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { DEFAULT_ROUTES } from '../../src/core/routing.js';

const doc = readFileSync(new URL('../../docs/notifications.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

// Every ${VAR} the examples reference, with a value of the right shape.
const env = {
  WEBHOOK_SECRET: 'webhook-secret',
  SMTP_PASSWORD: 'smtp-password',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXX',
  SLACK_BOT_TOKEN: 'xoxb-0000-0000',
  NATS_TOKEN: 'nats-token',
  AMQP_PASSWORD: 'amqp-password',
};

describe('docs/notifications.md', () => {
  it('has examples, each under a notifications: key', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    for (const block of blocks) expect(block).toMatch(/^notifications:$/m);
  });

  it.each(
    blocks.map((block, i) => [
      i + 1,
      block
        .split('\n')
        .find((l) => /^\s+type: /.test(l))
        ?.trim() ?? '(routes)',
      block,
    ]),
  )('example %i (%s) is a valid configuration', (_n, _type, block) => {
    expect(() => parseConfig(block, { env, source: 'docs/notifications.md' })).not.toThrow();
  });

  it('has one example of each channel type: webhook, email, Slack incoming webhook and Slack bot, NATS, AMQP', () => {
    const channels = blocks.flatMap((block) => Object.values(parseConfig(block, { env }).notifications.channels));
    expect(new Set(channels.map((c) => c.type))).toEqual(new Set(['webhook', 'email', 'slack', 'nats', 'amqp']));
    const slack = channels.filter((c) => c.type === 'slack');
    expect(slack.some((c) => c.webhook_url === env.SLACK_WEBHOOK_URL)).toBe(true);
    expect(slack.some((c) => c.bot_token === env.SLACK_BOT_TOKEN && c.channel === null)).toBe(true);
  });

  it('shows the default routes exactly as the code has them', () => {
    const defaults = blocks.filter((block) => block.includes('# The default routes.'));
    expect(defaults).toHaveLength(1);
    expect(parseConfig(defaults[0]!, { env }).notifications.routes).toEqual(DEFAULT_ROUTES);
  });
});
