// docs/integrations.md, "Approving from Slack", cannot rot: its configuration example is valid and
// gives a bot channel with the signing secret that turns the buttons on, and the request URL it
// tells people to enter is the route's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { SLACK_INTERACTIONS_PATH } from '../../src/http/routes/slack.js';
import { interactiveSlackApps } from '../../src/notify/slack-api.js';

const doc = readFileSync(new URL('../../docs/integrations.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('## Approving from Slack')).split(/\n## /)[0]!;
const yaml = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('docs/integrations.md: Approving from Slack', () => {
  it('configures a bot channel whose signing secret comes from the environment', () => {
    expect(yaml).toHaveLength(1);
    const env = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'signing-secret' };
    const config = parseConfig(yaml[0]!, { env, source: 'docs/integrations.md' });
    expect(interactiveSlackApps(config.notifications)).toEqual([
      { api_url: 'https://slack.com/api', bot_token: 'xoxb-1', signing_secret: 'signing-secret' },
    ]);
  });

  it('names the route as the request URL', () => {
    expect(section).toContain(`https://<your changeledger>/api/ledger${SLACK_INTERACTIONS_PATH}`);
  });
});
