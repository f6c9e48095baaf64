// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the YAML under test holds literal ${NAME} references
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Config, ConfigError, DEFAULT_CONFIG, engineConfigOf, loadConfig, parseConfig } from '../src/config.js';
import { DEFAULT_APPROVERS } from '../src/core/approvals.js';
import { DEFAULT_RISK_CONFIG } from '../src/core/risk.js';
import { DEFAULT_ENGINE_CONFIG } from '../src/engine/engine-config.js';

type Env = Record<string, string | undefined>;

const parse = (yaml: string, env: Env = {}) => parseConfig(yaml, { env, source: 'test.yaml' });

/** The ConfigError's lines, or a failure when the text is accepted. */
function problemsOf(yaml: string, env: Env = {}): readonly string[] {
  try {
    parse(yaml, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const at = (path: string, message: string) => `configuration error in test.yaml at ${path}: ${message}`;
const inVariable = (name: string, message: string) => `configuration error in environment variable ${name}: ${message}`;

/** Reads a dotted path such as `server.port` out of the config. */
const pick = (config: Config, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);

const temporaryDirs: string[] = [];
function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'changeledger-config-'));
  temporaryDirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
afterEach(() => {
  for (const dir of temporaryDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('defaults', () => {
  it('uses every default when there is no file and no environment', () => {
    const config = loadConfig({ cwd: tempDir(), env: {} });
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(config.config_path).toBeNull();
  });

  it.each([
    ['server.host', '127.0.0.1'],
    ['server.port', 8080],
    ['server.body_limit_bytes', 10_485_760],
    ['server.request_timeout_ms', 30_000],
    ['server.shutdown_timeout_ms', 10_000],
    ['server.drain_ms', 1_000],
    ['server.max_in_flight', 0],
    ['server.admission_wait_ms', 1_000],
    ['database.url', null],
    ['database.data_dir', './.changeledger'],
    ['database.pool_max', 10],
    ['database.statement_timeout_ms', 30_000],
    ['approval.deadline_hours', { CRITICAL: 2, HIGH: 8, NORMAL: 24, LOW: 48 }],
    ['approval.escalate_after', 0.5],
    ['approval.on_expiry', 'none'],
    ['approval.expire_after', 1],
    ['approval.escalation_contacts', ['group:admin']],
    ['approval.auto_approve', true],
    ['approval.require_content_hash', false],
    ['approval.deadline_check_interval_ms', 30_000],
    ['limits.max_items', 10_000],
    ['limits.page_size_max', 200],
    ['limits.write_requests_per_minute', 600],
    ['limits.write_burst', 60],
    ['auth.token_cache_ms', 1_000],
    ['auth.admin_may_issue_human_tokens', false],
    ['auth.enrolment_ttl_hours', 24],
    ['dashboard_url', 'http://127.0.0.1:8080'],
    ['log_level', 'info'],
    ['admin_token', null],
    ['risk', DEFAULT_RISK_CONFIG],
    ['approvers', DEFAULT_APPROVERS],
  ])('defaults %s to %j', (path, expected) => {
    expect(pick(DEFAULT_CONFIG, path)).toEqual(expected);
  });

  it('accepts an empty file and a file of comments', () => {
    expect(parse('')).toEqual(DEFAULT_CONFIG);
    expect(parse('# nothing here\n')).toEqual(DEFAULT_CONFIG);
  });

  it('treats a key with no value as not set', () => {
    const config = parse('server:\n  # port: 9000\ndatabase:\n  url:\nlog_level: null\n');
    expect(config).toEqual(DEFAULT_CONFIG);
  });

  it('gives the engine its defaults', () => {
    expect(engineConfigOf(DEFAULT_CONFIG)).toEqual(DEFAULT_ENGINE_CONFIG);
  });
});

const FULL_EXAMPLE = `
server:
  host: 0.0.0.0
  port: 9000
  body_limit_bytes: 2048
  request_timeout_ms: 5000
  shutdown_timeout_ms: 2000
database:
  url: postgres://app:secret@db:5432/app
  data_dir: /var/lib/changeledger
  embedded_thread: server
  pool_max: 25
  statement_timeout_ms: 15000
risk:
  operation: { scores: { DELETE: 60 }, default: 10 }
  target: { sensitive_types: [SECRET], cap: 90 }
  agent_default: 45
  scope: { categories: { BILLING: 70 } }
  quantity: { thresholds: [{ max_items: 3, score: 10 }], above: 60 }
  weights: { operation: 0.2, target: 0.4, agent: 0.2, scope: 0.1, quantity: 0.1 }
  levels: { critical: 80 }
  approvals: { critical: 4 }
  auto_approve: { operation_below: 15 }
  recommendations:
    - { factor: target, above: 10, message: Ask security }
agents:
  deploy-bot: 40
approvers:
  BILLING: [group:finance, alice]
approval:
  deadlines: { CRITICAL: 1, LOW: 72 }
  escalate_after: 0.25
  on_expiry: reject
  expire_after: 2
  escalation_contacts: [group:sre, alice]
  auto_approve: false
  require_content_hash: true
  deadline_check_interval_ms: 5000
limits:
  max_items: 500
  page_size_max: 50
  write_requests_per_minute: 0
auth:
  token_cache_ms: 250
  admin_may_issue_human_tokens: true
  enrolment_ttl_hours: 2
dashboard_url: https://ledger.example.com/
log_level: debug
`;

describe('a full file', () => {
  const config = parse(FULL_EXAMPLE);

  it.each([
    [
      'server',
      {
        host: '0.0.0.0',
        port: 9000,
        body_limit_bytes: 2048,
        request_timeout_ms: 5000,
        shutdown_timeout_ms: 2000,
        drain_ms: 1000,
        max_in_flight: 0,
        admission_wait_ms: 1000,
      },
    ],
    [
      'database',
      {
        url: 'postgres://app:secret@db:5432/app',
        data_dir: '/var/lib/changeledger',
        embedded_thread: 'server',
        pool_max: 25,
        statement_timeout_ms: 15000,
      },
    ],
    ['risk.operation', { scores: { DELETE: 60 }, default: 10, cap: 100 }],
    ['risk.target.sensitive_types', ['SECRET']],
    ['risk.target.cap', 90],
    ['risk.agent_default', 45],
    ['risk.scope.categories', { BILLING: 70 }],
    ['risk.quantity', { thresholds: [{ max_items: 3, score: 10 }], above: 60 }],
    ['risk.weights', { operation: 0.2, target: 0.4, agent: 0.2, scope: 0.1, quantity: 0.1 }],
    ['risk.levels', { critical: 80, high: 50, medium: 30 }],
    ['risk.approvals', { critical: 4, high: 2, medium: 1, low: 0 }],
    [
      'risk.auto_approve',
      { enabled: false, operation_below: 15, target_below: 15, scope_below: 25, quantity_below: 10 },
    ],
    ['risk.recommendations', [{ factor: 'target', above: 10, message: 'Ask security' }]],
    ['risk.agents', { 'deploy-bot': 40 }],
    ['approvers', { BILLING: ['group:finance', 'alice'] }],
    [
      'approval',
      {
        deadline_hours: { CRITICAL: 1, HIGH: 8, NORMAL: 24, LOW: 72 },
        escalate_after: 0.25,
        on_expiry: 'reject',
        expire_after: 2,
        escalation_contacts: ['group:sre', 'alice'],
        auto_approve: false,
        require_content_hash: true,
        deadline_check_interval_ms: 5_000,
      },
    ],
    ['limits', { max_items: 500, page_size_max: 50, write_requests_per_minute: 0, write_burst: 60 }],
    ['auth', { token_cache_ms: 250, admin_may_issue_human_tokens: true, enrolment_ttl_hours: 2 }],
    ['dashboard_url', 'https://ledger.example.com'],
    ['log_level', 'debug'],
  ])('reads %s', (path, expected) => {
    expect(pick(config, path)).toEqual(expected);
  });

  it('hands the engine its part', () => {
    expect(engineConfigOf(config)).toEqual({
      risk: config.risk,
      approvers: config.approvers,
      approval: {
        deadline_hours: { CRITICAL: 1, HIGH: 8, NORMAL: 24, LOW: 72 },
        escalate_after: 0.25,
        on_expiry: 'reject',
        expire_after: 2,
        escalation_contacts: ['group:sre', 'alice'],
        require_content_hash: true,
      },
      limits: { max_items: 500 },
      policies: [],
      auth: { token_cache_ms: 250, admin_may_issue_human_tokens: true, enrolment_ttl_hours: 2 },
      trust: DEFAULT_ENGINE_CONFIG.trust,
    });
  });
});

describe('errors name the exact path', () => {
  it.each([
    ['an unknown top-level key', 'serve:\n  port: 1\n', at('serve', 'unknown key')],
    ['an unknown nested key', 'server:\n  prot: 9000\n', at('server.prot', 'unknown key')],
    [
      'an unknown key deep in risk',
      'risk:\n  weights:\n    operaton: 0.3\n',
      at('risk.weights.operaton', 'unknown key'),
    ],
    [
      'an unknown key in a list entry',
      'risk:\n  quantity:\n    thresholds:\n      - { max_items: 1, score: 1, x: 1 }\n',
      at('risk.quantity.thresholds[0].x', 'unknown key'),
    ],
    ['agents under risk', 'risk:\n  agents: { A: 1 }\n', at('risk.agents', 'unknown key')],
    ['the admin token in the file', 'admin_token: secret\n', at('admin_token', 'unknown key')],
    ['a port that is text', 'server:\n  port: "abc"\n', at('server.port', 'must be an integer from 1 to 65535')],
    ['a port out of range', 'server:\n  port: 70000\n', at('server.port', 'must be an integer from 1 to 65535')],
    ['a fractional port', 'server:\n  port: 80.5\n', at('server.port', 'must be an integer from 1 to 65535')],
    [
      'a small body limit',
      'server:\n  body_limit_bytes: 10\n',
      at('server.body_limit_bytes', 'must be an integer of at least 1024'),
    ],
    ['a pool too large', 'database:\n  pool_max: 5000\n', at('database.pool_max', 'must be an integer from 1 to 1000')],
    [
      'a weight that is text',
      'risk:\n  weights:\n    operation: "x"\n',
      at('risk.weights.operation', 'must be a number'),
    ],
    ['a section that is a scalar', 'server: 5\n', at('server', 'must be a mapping')],
    ['a list that is a scalar', 'approvers:\n  UI_LAYOUT: Agent-A\n', at('approvers.UI_LAYOUT', 'must be a list')],
    [
      'an empty group name',
      'approvers:\n  UI_LAYOUT: ["group:"]\n',
      at('approvers.UI_LAYOUT[0]', 'must be a principal id or group:NAME'),
    ],
    [
      'a missing list-entry key',
      'risk:\n  quantity:\n    thresholds:\n      - { max_items: 5 }\n',
      at('risk.quantity.thresholds[0].score', 'is required'),
    ],
    ['a null agent score', 'agents:\n  Agent-A:\n', at('agents.Agent-A', 'must be a number')],
    [
      'an unknown log level',
      'log_level: loud\n',
      at('log_level', 'must be one of: fatal, error, warn, info, debug, trace, silent'),
    ],
    [
      'an unknown expiry action',
      'approval:\n  on_expiry: later\n',
      at('approval.on_expiry', 'must be one of: none, reject'),
    ],
    [
      'a zero deadline',
      'approval:\n  deadlines: { HIGH: 0 }\n',
      at('approval.deadlines.HIGH', 'must be a number of hours above 0 and at most 8760'),
    ],
    [
      'a non-boolean auto_approve',
      'approval:\n  auto_approve: "yes"\n',
      at('approval.auto_approve', 'must be true or false'),
    ],
    [
      'a require_content_hash that is not a boolean',
      'approval:\n  require_content_hash: "yes"\n',
      at('approval.require_content_hash', 'must be true or false'),
    ],
    [
      'a deadline check interval of 0',
      'approval:\n  deadline_check_interval_ms: 0\n',
      at('approval.deadline_check_interval_ms', 'must be an integer from 100 to 3600000'),
    ],
    [
      'an escalation too late',
      'approval:\n  escalate_after: 11\n',
      at('approval.escalate_after', 'must be a number from 0 to 10'),
    ],
    [
      'an empty escalation contact',
      'approval:\n  escalation_contacts: [root, "group:"]\n',
      at('approval.escalation_contacts[1]', 'must be a principal id or group:NAME'),
    ],
    [
      'a max_items too large',
      'limits:\n  max_items: 100001\n',
      at('limits.max_items', 'must be an integer from 1 to 100000'),
    ],
    [
      'a negative token cache',
      'auth:\n  token_cache_ms: -1\n',
      at('auth.token_cache_ms', 'must be an integer from 0 to 60000'),
    ],
    [
      'a token cache above a minute',
      'auth:\n  token_cache_ms: 60001\n',
      at('auth.token_cache_ms', 'must be an integer from 0 to 60000'),
    ],
    [
      'a fractional token cache',
      'auth:\n  token_cache_ms: 1.5\n',
      at('auth.token_cache_ms', 'must be an integer from 0 to 60000'),
    ],
    [
      'a token cache that is text',
      'auth:\n  token_cache_ms: "1s"\n',
      at('auth.token_cache_ms', 'must be an integer from 0 to 60000'),
    ],
    ['an unknown key in auth', 'auth:\n  token_ttl_ms: 5\n', at('auth.token_ttl_ms', 'unknown key')],
    ['an auth section that is a scalar', 'auth: 5\n', at('auth', 'must be a mapping')],
    ['a non-http dashboard', 'dashboard_url: ftp://example.com\n', at('dashboard_url', 'must be an http(s) URL')],
    [
      'an unparsable dashboard',
      'dashboard_url: "http://exa mple.com"\n',
      at('dashboard_url', 'must be an http(s) URL'),
    ],
    [
      'a policy without condition',
      'policies:\n  - name: block-deletes\n    effect: deny\n',
      at('policies[0].condition', 'is required'),
    ],
    [
      'a policy that does not compile',
      'policies:\n  - name: broken\n    effect: deny\n    condition: items.exists(i,\n',
      at('policies[0].condition', 'policy broken does not compile: Unexpected token: EOF'),
    ],
    [
      'a require_approval policy without approvers',
      'policies:\n  - name: review\n    effect: require_approval\n    condition: "true"\n',
      at('policies[0].approvers', 'require_approval needs approvers (principal ids or group:NAME)'),
    ],
    ['an unknown key in notifications', 'notifications:\n  slack: {}\n', at('notifications.slack', 'unknown key')],
    [
      'a webhook channel without url',
      'notifications:\n  channels:\n    ops: {type: webhook}\n',
      at('notifications.channels.ops.url', 'a webhook channel needs url'),
    ],
    [
      'a key of another channel type',
      'notifications:\n  channels:\n    ops: {type: webhook, url: "http://x.test/", host: smtp}\n',
      at('notifications.channels.ops.host', 'is not used by a webhook channel'),
    ],
    [
      'a Slack signing secret without a bot token',
      'notifications:\n  channels:\n    s: {type: slack, webhook_url: "https://hooks.slack.test/x", signing_secret: abc}\n',
      at('notifications.channels.s.signing_secret', 'needs bot_token (buttons are answered through the Web API)'),
    ],
    [
      'a route naming a channel that does not exist',
      'notifications:\n  routes:\n    - {events: [changeset.applied], recipients: [creator], channels: [pager]}\n',
      at('notifications.routes[0].channels[0]', 'no channel named pager in notifications.channels'),
    ],
    [
      'a route with an unknown event',
      'notifications:\n  routes:\n    - {events: [changeset.exploded], recipients: [creator]}\n',
      at('notifications.routes[0].events[0]', 'unknown event type changeset.exploded'),
    ],
    ['a file that is a list', '- server\n', at('the top level', 'must be a mapping of sections')],
  ])('refuses %s', (_, yaml, expected) => {
    expect(problemsOf(yaml)).toEqual([expected]);
  });

  it.each([
    [
      'weights not adding up to 1',
      'risk:\n  weights: { operation: 0.25 }\n',
      at('risk.weights', 'must add up to 1, got 0.95'),
    ],
    [
      'a score above 100',
      'risk:\n  operation: { scores: { DELETE: 150 } }\n',
      at('risk.operation.scores.DELETE', 'must be an integer from 0 to 100, got 150'),
    ],
    [
      'an agent score above 100',
      'agents:\n  Agent-A: 300\n',
      at('agents.Agent-A', 'must be an integer from 0 to 100, got 300'),
    ],
    [
      'levels out of order',
      'risk:\n  levels: { high: 80 }\n',
      at('risk.levels', 'must satisfy critical > high > medium, got 70, 80, 30'),
    ],
    [
      'an unknown recommendation factor',
      'risk:\n  recommendations: [{ factor: mood, above: 1, message: hi }]\n',
      at('risk.recommendations[0].factor', 'must be one of operation, target, agent, scope, quantity, got "mood"'),
    ],
  ])('surfaces the risk model problem of %s', (_, yaml, expected) => {
    expect(problemsOf(yaml)).toEqual([expected]);
  });

  it('names the missing variable at its path', () => {
    const yaml = 'database:\n  url: postgres://app:${SMTP_PASSWORD}@db/app\n';
    expect(problemsOf(yaml)).toEqual([at('database.url', 'environment variable SMTP_PASSWORD is not set')]);
  });

  it.each([
    [{ PORT: 'abc' }, inVariable('PORT', 'must be an integer from 1 to 65535')],
    [{ PORT: '0' }, inVariable('PORT', 'must be an integer from 1 to 65535')],
    [{ LOG_LEVEL: 'loud' }, inVariable('LOG_LEVEL', 'must be one of: fatal, error, warn, info, debug, trace, silent')],
  ])('refuses the invalid environment override %j', (env, expected) => {
    expect(problemsOf('', env)).toEqual([expected]);
  });

  it('gives the line of a YAML syntax error', () => {
    expect(problemsOf('server:\n  port: [8080\nlog_level: info\n')).toEqual([
      'configuration error in test.yaml at line 3, column 1: ' +
        'Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('reports a duplicate key with its line', () => {
    expect(problemsOf('log_level: info\nlog_level: debug\n')[0]).toMatch(
      /at line 2, column 1: Map keys must be unique/,
    );
  });

  it('follows YAML aliases but refuses one that contains itself', () => {
    expect(parse('approvers:\n  A: &team [x, y]\n  B: *team\n').approvers).toEqual({ A: ['x', 'y'], B: ['x', 'y'] });
    expect(problemsOf('approvers:\n  A: &x\n    - *x\n')).toEqual([
      at('approvers.A[0]', 'YAML alias refers to a node that contains it'),
    ]);
  });

  it('keeps a key named __proto__ as data', () => {
    const config = parse('agents:\n  __proto__: 10\n');
    expect(Object.getPrototypeOf(config.risk.agents)).toBe(Object.prototype);
    expect(Object.keys(config.risk.agents)).toEqual(['__proto__']);
  });

  it('reports several problems at once, one line each', () => {
    const yaml = [
      'serve: {}',
      'server:',
      '  port: abc',
      '  prot: 1',
      'database:',
      '  url: ${MISSING}',
      'risk:',
      '  weights: { operation: 0.5 }',
      'policies: {}',
    ].join('\n');
    const error = (() => {
      try {
        parse(yaml, { LOG_LEVEL: 'loud' });
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.problems).toEqual([
      at('database.url', 'environment variable MISSING is not set'),
      at('serve', 'unknown key'),
      at('server.prot', 'unknown key'),
      at('server.port', 'must be an integer from 1 to 65535'),
      at('policies', 'must be a list'),
      inVariable('LOG_LEVEL', 'must be one of: fatal, error, warn, info, debug, trace, silent'),
      at('risk.weights', 'must add up to 1, got 1.2'),
    ]);
    expect(error.message).toBe(error.problems.join('\n'));
  });
});

describe('${NAME} substitution', () => {
  it.each([
    ['a number when the whole value', 'server:\n  port: ${APP_PORT}\n', { APP_PORT: '9000' }, 'server.port', 9000],
    [
      'a boolean when the whole value',
      'approval:\n  auto_approve: ${AUTO}\n',
      { AUTO: 'false' },
      'approval.auto_approve',
      false,
    ],
    ['text kept exactly', 'server:\n  host: ${H}\n', { H: 'db #1' }, 'server.host', 'db #1'],
    ['a string when quoted', 'server:\n  host: "${H}"\n', { H: '10' }, 'server.host', '10'],
    [
      'spliced inside a longer string',
      'database:\n  url: postgres://app:${PW}@db:5432/app\n',
      { PW: 's3cret' },
      'database.url',
      'postgres://app:s3cret@db:5432/app',
    ],
    ['several in one string', 'server:\n  host: ${A}.${B}\n', { A: 'a', B: 'b' }, 'server.host', 'a.b'],
    ['escaped with $${', 'server:\n  host: "x$${NOT_A_VAR}"\n', {}, 'server.host', 'x${NOT_A_VAR}'],
    ['an escaped whole value', 'server:\n  host: $${H}\n', { H: 'ignored' }, 'server.host', '${H}'],
    [
      'spliced in list entries',
      'approvers:\n  SECURITY:\n    - ${LEAD}\n',
      { LEAD: 'alice' },
      'approvers',
      { SECURITY: ['alice'] },
    ],
    ['an empty whole value as unset', 'server:\n  port: ${E}\n', { E: '' }, 'server.port', 8080],
    ['an empty variable as empty text', 'server:\n  host: x${E}\n', { E: '' }, 'server.host', 'x'],
  ])('substitutes %s', (_, yaml, env, path, expected) => {
    expect(pick(parse(yaml, env), path)).toEqual(expected);
  });

  it('leaves keys alone', () => {
    expect(parse('agents:\n  ${WHO}: 10\n', { WHO: 'x' }).risk.agents).toEqual({ '${WHO}': 10 });
  });

  it('reports a typed value of the wrong type at its path', () => {
    expect(problemsOf('server:\n  port: ${P}\n', { P: 'eighty' })).toEqual([
      at('server.port', 'must be an integer from 1 to 65535'),
    ]);
  });

  it.each([
    ['host: ${UNCLOSED', 'unterminated ${ (write $${ for a literal ${)'],
    ['host: ${not-a-name}', 'invalid environment variable name "not-a-name"'],
  ])('refuses the malformed reference in %s', (line, message) => {
    expect(problemsOf(`server:\n  ${line}\n`)).toEqual([at('server.host', message)]);
  });
});

describe('environment overrides', () => {
  const FILE = [
    'server: { host: 10.0.0.1, port: 9000 }',
    'database: { url: postgres://file/db, data_dir: ./from-file }',
    'log_level: warn',
  ].join('\n');

  it.each([
    ['PORT', '9100', 'server.port', 9100],
    ['HOST', '0.0.0.0', 'server.host', '0.0.0.0'],
    ['DATABASE_URL', 'postgres://env/db', 'database.url', 'postgres://env/db'],
    ['CHANGELEDGER_DATA_DIR', '/data', 'database.data_dir', '/data'],
    ['LOG_LEVEL', 'error', 'log_level', 'error'],
    ['CHANGELEDGER_ADMIN_TOKEN', 'tok-123', 'admin_token', 'tok-123'],
  ])('%s wins over the file', (variable, value, path, expected) => {
    expect(pick(parse(FILE, { [variable]: value }), path)).toEqual(expected);
  });

  it('keeps the file value when the variable is unset or empty', () => {
    const config = parse(FILE, { PORT: '', HOST: undefined });
    expect(config.server).toMatchObject({ host: '10.0.0.1', port: 9000 });
  });

  it('applies over the defaults without a file', () => {
    expect(parse('', { PORT: '3000', DATABASE_URL: 'postgres://x/y' })).toMatchObject({
      server: { port: 3000 },
      database: { url: 'postgres://x/y' },
    });
  });
});

describe('merging over the defaults', () => {
  it('merges objects key by key', () => {
    const config = parse(
      'risk:\n  levels: { critical: 90 }\n  operation: { default: 7 }\napproval:\n  deadlines: { LOW: 96 }\n',
    );
    expect(config.risk.levels).toEqual({ critical: 90, high: 50, medium: 30 });
    expect(config.risk.operation).toEqual({ ...DEFAULT_RISK_CONFIG.operation, default: 7 });
    expect(config.approval.deadline_hours).toEqual({ CRITICAL: 2, HIGH: 8, NORMAL: 24, LOW: 96 });
  });

  it.each([
    ['risk.operation.scores', 'risk:\n  operation: { scores: { MOVE: 20 } }\n', { MOVE: 20 }],
    ['risk.scope.categories', 'risk:\n  scope: { categories: { BILLING: 60 } }\n', { BILLING: 60 }],
    ['risk.agents', 'agents: { bot: 50 }\n', { bot: 50 }],
    ['approvers', 'approvers: { BILLING: [alice] }\n', { BILLING: ['alice'] }],
    ['risk.target.protected_prefixes', 'risk:\n  target: { protected_prefixes: [prod.] }\n', ['prod.']],
    ['risk.recommendations', 'risk:\n  recommendations: []\n', []],
  ])('replaces %s entirely', (path, yaml, expected) => {
    expect(pick(parse(yaml), path)).toEqual(expected);
  });

  it('turns auto-approval off through approval.auto_approve', () => {
    expect(parse('approval:\n  auto_approve: false\n').risk.auto_approve.enabled).toBe(false);
  });
});

describe('auth.token_cache_ms', () => {
  it.each([0, 1, 60_000])('accepts %i and hands it to the engine', (ms) => {
    const config = parse(`auth:\n  token_cache_ms: ${ms}\n`);
    const expected = { token_cache_ms: ms, admin_may_issue_human_tokens: false, enrolment_ttl_hours: 24 };
    expect(config.auth).toEqual(expected);
    expect(engineConfigOf(config).auth).toEqual(expected);
  });

  it('keeps its default when the section is empty', () => {
    const defaults = { token_cache_ms: 1_000, admin_may_issue_human_tokens: false, enrolment_ttl_hours: 24 };
    expect(parse('auth:\n  # token_cache_ms: 0\n').auth).toEqual(defaults);
    expect(DEFAULT_ENGINE_CONFIG.auth).toEqual(defaults);
  });
});

describe('auth.admin_may_issue_human_tokens and auth.enrolment_ttl_hours', () => {
  it('hands both to the engine', () => {
    const config = parse('auth:\n  admin_may_issue_human_tokens: true\n  enrolment_ttl_hours: 0.5\n');
    expect(engineConfigOf(config).auth).toMatchObject({ admin_may_issue_human_tokens: true, enrolment_ttl_hours: 0.5 });
  });

  it.each([
    [
      'auth:\n  admin_may_issue_human_tokens: yes please\n',
      'auth.admin_may_issue_human_tokens',
      'must be true or false',
    ],
    [
      'auth:\n  enrolment_ttl_hours: 0\n',
      'auth.enrolment_ttl_hours',
      'must be a number of hours above 0 and at most 8760',
    ],
  ])('refuses %j', (yaml, path, message) => {
    expect(() => parse(yaml)).toThrow(message);
    expect(() => parse(yaml)).toThrow(path);
  });
});

describe('the result', () => {
  const config = parse(FULL_EXAMPLE);

  it.each([
    ['the config', config],
    ['a section', config.server],
    ['a nested map', config.risk.operation.scores],
    ['a list', config.risk.quantity.thresholds],
    ['a list entry', config.risk.quantity.thresholds[0]],
    ['an approver list', config.approvers.BILLING],
    ['the defaults', DEFAULT_CONFIG.risk.weights],
    ['the default approvers', DEFAULT_CONFIG.approvers.UI_LAYOUT],
  ])('is deep-frozen: %s', (_, value) => {
    expect(Object.isFrozen(value)).toBe(true);
  });

  it('throws on an attempt to change it', () => {
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('leaves the core defaults untouched', () => {
    parse('agents: { x: 1 }\nrisk:\n  levels: { critical: 99 }\n');
    expect(DEFAULT_RISK_CONFIG.levels.critical).toBe(70);
    expect(DEFAULT_RISK_CONFIG.agents).toEqual({ 'Agent-A': 15, 'Agent-B': 20, 'Agent-C': 35, 'Agent-D': 25 });
  });
});

describe('file resolution', () => {
  it('refuses an explicit path that does not exist', () => {
    const cwd = tempDir();
    expect(() => loadConfig({ path: 'missing.yaml', cwd, env: {} })).toThrow(
      new ConfigError(['configuration error in missing.yaml (from --config): file not found']),
    );
  });

  it('refuses a CHANGELEDGER_CONFIG that does not exist', () => {
    expect(() => loadConfig({ cwd: tempDir(), env: { CHANGELEDGER_CONFIG: 'nope.yaml' } })).toThrow(
      'configuration error in nope.yaml (from CHANGELEDGER_CONFIG): file not found',
    );
  });

  it('reads the explicit path, relative to the working directory', () => {
    const cwd = tempDir({ 'custom.yaml': 'server:\n  port: 7000\n', 'changeledger.yaml': 'server:\n  port: 1\n' });
    const config = loadConfig({ path: 'custom.yaml', cwd, env: { CHANGELEDGER_CONFIG: 'other.yaml' } });
    expect(config.server.port).toBe(7000);
    expect(config.config_path).toBe(join(cwd, 'custom.yaml'));
  });

  it('reads CHANGELEDGER_CONFIG when there is no --config', () => {
    const cwd = tempDir({ 'env.yaml': 'log_level: debug\n', 'changeledger.yaml': 'log_level: warn\n' });
    const config = loadConfig({ cwd, env: { CHANGELEDGER_CONFIG: join(cwd, 'env.yaml') } });
    expect(config.log_level).toBe('debug');
    expect(config.config_path).toBe(join(cwd, 'env.yaml'));
  });

  it('reads ./changeledger.yaml from the working directory', () => {
    const cwd = tempDir({ 'changeledger.yaml': 'limits:\n  page_size_max: 50\n' });
    const config = loadConfig({ cwd, env: {} });
    expect(config.limits.page_size_max).toBe(50);
    expect(config.config_path).toBe(join(cwd, 'changeledger.yaml'));
  });

  it('names the file in its errors', () => {
    const cwd = tempDir({ 'changeledger.yaml': 'server:\n  port: 0\n' });
    expect(() => loadConfig({ cwd, env: {} })).toThrow(
      'configuration error in ./changeledger.yaml at server.port: must be an integer from 1 to 65535',
    );
  });

  it('accepts an empty file', () => {
    const cwd = tempDir({ 'changeledger.yaml': '' });
    expect(loadConfig({ cwd, env: {} })).toEqual({ ...DEFAULT_CONFIG, config_path: join(cwd, 'changeledger.yaml') });
  });
});

describe('docs/configuration.md', () => {
  const markdown = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
  const examples = [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
  const env = { DATABASE_PASSWORD: 'pw' };

  it('has examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  it('lists every default in its complete example', () => {
    expect(parse(examples[0]!, env)).toEqual(DEFAULT_CONFIG);
  });

  it.each(examples.map((example, i) => [i, example] as const))('example %i parses', (_, example) => {
    expect(() => parse(example, env)).not.toThrow();
  });
});

describe('oidc (single sign-on)', () => {
  it('is off by default, with its defaults', () => {
    expect(DEFAULT_CONFIG.oidc).toEqual({
      issuer: null,
      client_id: null,
      client_secret: null,
      redirect_url: 'http://127.0.0.1:8080/api/ledger/auth/oidc/callback',
      scopes: ['openid', 'email', 'profile'],
      principal_claim: 'email',
      groups_claim: 'groups',
      group_map: {},
      auto_create: false,
    });
  });

  it('reads the section, derives redirect_url from dashboard_url, and takes the secret from the environment', () => {
    const config = parse(
      'dashboard_url: https://ledger.example.com/\noidc:\n  issuer: https://idp.example.com\n  client_id: ledger\n' +
        '  client_secret: from-file\n  group_map:\n    idp-admins: admin\n  auto_create: true\n',
      { CHANGELEDGER_OIDC_CLIENT_SECRET: 'from-env' },
    );
    expect(config.oidc).toMatchObject({
      issuer: 'https://idp.example.com',
      client_id: 'ledger',
      client_secret: 'from-env',
      redirect_url: 'https://ledger.example.com/api/ledger/auth/oidc/callback',
      group_map: { 'idp-admins': 'admin' },
      auto_create: true,
    });
  });

  it('needs a client id and secret once an issuer is set', () => {
    expect(problemsOf('oidc:\n  issuer: https://idp.example.com\n')).toEqual([
      at('oidc.client_id', 'is required when oidc.issuer is set'),
      at('oidc.client_secret', 'is required when oidc.issuer is set (or set CHANGELEDGER_OIDC_CLIENT_SECRET)'),
    ]);
    expect(
      parse('oidc:\n  issuer: https://idp.example.com\n  client_id: ledger\n', { CHANGELEDGER_OIDC_CLIENT_SECRET: 's' })
        .oidc.client_secret,
    ).toBe('s');
  });

  it('refuses an issuer that is not an http(s) URL and a group map of non-strings', () => {
    expect(problemsOf('oidc:\n  issuer: idp.example.com\n  client_id: a\n  client_secret: b\n')).toEqual([
      at('oidc.issuer', 'must be an http(s) URL'),
    ]);
    expect(problemsOf('oidc:\n  group_map:\n    x: 1\n')).toEqual([
      at('oidc.group_map.x', 'must be a non-empty string'),
    ]);
  });
});
