// The configuration file's shape (docs/configuration.md) as a TypeBox schema, and the translation of its
// validation errors into one problem per path with a message a person can act on.
// Risk numbers are only type-checked here: their ranges belong to core's validateRiskConfig.
// The building blocks (and Problem) are core/config-kit.ts; the `risk` section is core's, the
// `notifications` section notify's.

import { type Static, type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';
import { DEFAULT_APPROVERS } from './core/approvals.js';
import {
  bool,
  defaultsOf,
  fraction,
  httpUrl,
  int,
  intAtLeast,
  isObject,
  list,
  map,
  millis,
  oneOf,
  type Problem,
  type Resolved,
  section,
  str,
  text,
  unset,
} from './core/config-kit.js';
import { ID_MESSAGE, ID_PATTERN } from './core/input-rules.js';
import { POLICY_ACTIONS, POLICY_EFFECTS, POLICY_MODES } from './core/policy.js';
import { RiskSchema, RiskSection } from './core/risk.js';
import { schemaIssues, withAllErrors } from './core/schema-issues.js';
import { TrustSection } from './core/trust.js';
import { MCP_TOOL_NAMES } from './mcp/tool-names.js';
import { NotificationsSection } from './notify/notify-config.js';

export const EMBEDDED_THREADS = ['worker', 'server'] as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const ON_EXPIRY = ['none', 'reject'] as const;

// Deadlines are added to a Date; a year keeps them far from overflow and still generous.
const MAX_DEADLINE_HOURS = 8760;

const principalOrGroup = () =>
  Type.String({ minLength: 1, pattern: '^(?!group:$)', message: 'must be a principal id or group:NAME' });
const hours = (fallback: number) =>
  Type.Number({
    exclusiveMinimum: 0,
    maximum: MAX_DEADLINE_HOURS,
    message: `must be a number of hours above 0 and at most ${MAX_DEADLINE_HOURS}`,
    default: fallback,
  });

/**
 * The configuration file, declared once: every key's type, limits, message and default. The
 * file's validation is this schema; `Config` (config.ts) and its defaults derive from it.
 * docs/configuration.md documents it (test/config.test.ts checks the defaults it shows).
 */
export const FileSchema = section({
  server: section({
    host: text('127.0.0.1'),
    port: int(1, 65535, 8080),
    body_limit_bytes: intAtLeast(1024, 10 * 1024 * 1024),
    request_timeout_ms: millis(30_000),
    shutdown_timeout_ms: millis(10_000),
    /** After SIGTERM: how long /readyz answers 503 while requests are still served, before closing. */
    drain_ms: int(0, 60_000, 1_000),
    /** API requests this instance works on at once (admission control); 0 turns it off. */
    max_in_flight: int(0, 100_000, 0),
    /** How long a request waits for one of those slots before it is answered 503 OVERLOADED. */
    admission_wait_ms: int(0, 60_000, 1_000),
  }),
  /** What each instance keeps in memory, behind a check against the database (docs/configuration.md). */
  cache: section({
    /** Serialised change-set views for GET /changesets/:id (engine/reads.ts); 0 keeps none. */
    view_bytes: int(0, 2 ** 30, 16 * 2 ** 20),
  }),
  database: section({
    url: unset(text()),
    data_dir: text('./.changeledger'),
    /** The embedded database's thread: a worker thread of its own, or the server's (HTTP's) thread. */
    embedded_thread: oneOf(EMBEDDED_THREADS, 'worker'),
    pool_max: int(1, 1000, 10),
    statement_timeout_ms: millis(30_000),
  }),
  /** Merged over the defaults into core's risk config, with `agents` and `approval.auto_approve`. */
  risk: RiskSection,
  agents: RiskSchema.properties.agents,
  /** Category → principal ids or `group:NAME`. */
  approvers: map(list(principalOrGroup()), DEFAULT_APPROVERS as Record<string, string[]>),
  approval: section({
    deadlines: section({ CRITICAL: hours(2), HIGH: hours(8), NORMAL: hours(24), LOW: hours(48) }),
    /** Fraction of the deadline period, counted from the deadline, after which to escalate. */
    escalate_after: fraction(10, 0.5),
    on_expiry: oneOf(ON_EXPIRY, 'none'),
    /** Fraction of the deadline period, counted from the deadline, after which to expire. */
    expire_after: fraction(10, 1),
    /** Who hears of an escalation: principal ids or `group:NAME`. */
    escalation_contacts: list(principalOrGroup(), ['group:admin']),
    auto_approve: bool(true),
    /** Every decision must send the content_hash of the change-set its reviewer read. */
    require_content_hash: bool(false),
    /** How often this instance looks for due reminders, escalations and expiries (the scheduler's tick). */
    deadline_check_interval_ms: int(100, 3_600_000, 30_000),
  }),
  limits: section({
    max_items: int(1, 100_000, 10_000),
    page_size_max: int(1, 1000, 200),
    /** Per principal and server instance; 0 turns the limit off. */
    write_requests_per_minute: int(0, 1_000_000, 600),
    write_burst: int(1, 1_000_000, 60),
  }),
  auth: section({
    /**
     * How long a successful token lookup is remembered, per server instance (0 turns it off). A
     * token revoked or a principal deactivated through another instance still works here for up
     * to this long; through this instance the change takes effect at once.
     */
    token_cache_ms: int(0, 60_000, 1_000),
    /**
     * Whether an admin may issue API tokens for human principals (development set-ups only): off,
     * a human gets credentials through a one-time enrolment that only they redeem.
     */
    admin_may_issue_human_tokens: bool(false),
    /** How long an enrolment code may be redeemed, in hours. */
    enrolment_ttl_hours: hours(24),
  }),
  audit: section({
    /**
     * The Ed25519 key that signs audit chain heads (PKCS#8 PEM); null: <data_dir>/audit-signing-key.pem,
     * created by `serve` when absent. A file named here must exist.
     */
    signing_key_file: unset(text()),
  }),
  /**
   * Single sign-on for the dashboard (OpenID Connect, authorization code with PKCE); off while
   * `issuer` is null. See docs/identity.md.
   */
  oidc: section({
    issuer: unset(httpUrl()),
    client_id: unset(text()),
    /** From the file or CHANGELEDGER_OIDC_CLIENT_SECRET (the environment wins). */
    client_secret: unset(text()),
    /** Where the provider sends the browser back; null: <dashboard_url>/api/ledger/auth/oidc/callback. */
    redirect_url: unset(httpUrl()),
    scopes: list(text(), ['openid', 'email', 'profile']),
    /** The claim naming the principal: `email` matches a principal's email, any other claim its id. */
    principal_claim: text('email'),
    /** The claim listing the person's groups at the provider. */
    groups_claim: text('groups'),
    /** Provider group → changeledger group; empty: groups are not managed by sign-in. */
    group_map: map(text(), {}),
    /** Whether a person the ledger does not know becomes a new human principal at first sign-in. */
    auto_create: bool(false),
  }),
  /** The MCP server at /mcp (docs/agents.md#mcp). */
  mcp: section({
    enabled: bool(true),
    /** Host names /mcp answers to besides localhost and dashboard_url's (DNS rebinding protection). */
    allowed_hosts: list(text(), []),
    tools: section({
      /** Tools neither listed nor callable. */
      disabled: list(oneOf(MCP_TOOL_NAMES), []),
    }),
  }),
  dashboard_url: httpUrl('http://127.0.0.1:8080'),
  log_level: oneOf(LOG_LEVELS, 'info'),
  /** Policy definitions (compiled by engineConfigOf; every one compiles, the loader checked). */
  policies: list(
    Type.Object(
      {
        name: Type.String({ pattern: ID_PATTERN.source, message: ID_MESSAGE }),
        condition: text(),
        effect: oneOf(POLICY_EFFECTS),
        actions: Type.Optional(list(oneOf(POLICY_ACTIONS))),
        approvers: Type.Optional(list(Type.String({ minLength: 1, message: 'must be a principal id or group:NAME' }))),
        count: Type.Optional(int(1, 100)),
        message: Type.Optional(str()),
        mode: Type.Optional(oneOf(POLICY_MODES)),
      },
      { additionalProperties: false, message: 'must be a mapping' },
    ),
    [],
  ),
  notifications: NotificationsSection,
  /** Earned trust in the risk model (docs/trust.md). */
  trust: TrustSection,
});

export type FileConfig = Static<typeof FileSchema>;

/** The file resolved: every key present, with its value or its default. */
export type FileSections = Resolved<typeof FileSchema>;

/** The default of every key of the file. */
export const DEFAULTS: FileSections = defaultsOf(FileSchema);

/** Environment variables that override one file key each (the environment wins). */
export const ENV_OVERRIDES = [
  { variable: 'PORT', path: ['server', 'port'], typed: true },
  { variable: 'HOST', path: ['server', 'host'], typed: false },
  { variable: 'DATABASE_URL', path: ['database', 'url'], typed: false },
  { variable: 'CHANGELEDGER_DATA_DIR', path: ['database', 'data_dir'], typed: false },
  { variable: 'LOG_LEVEL', path: ['log_level'], typed: false },
  { variable: 'CHANGELEDGER_AUDIT_KEY_FILE', path: ['audit', 'signing_key_file'], typed: false },
  { variable: 'CHANGELEDGER_OIDC_CLIENT_SECRET', path: ['oidc', 'client_secret'], typed: false },
] as const;

/**
 * A key with no value (`port:`, `port: null`) counts as not set, so a section whose keys are all
 * commented out is fine. Only keys of fixed-shape sections: in a map, a null value stays an error.
 */
export function dropEmptyKeys(value: unknown, schema: TSchema = FileSchema): void {
  const node = schema as { properties?: Record<string, TSchema>; patternProperties?: Record<string, TSchema> };
  const items = (schema as { items?: TSchema }).items;
  if (Array.isArray(value) && items) for (const item of value) dropEmptyKeys(item, items);
  if (!isObject(value)) return;
  const properties = node.properties ?? {};
  const patternSchema = Object.values(node.patternProperties ?? {})[0];
  for (const [key, child] of Object.entries(value)) {
    const childSchema = Object.hasOwn(properties, key) ? properties[key] : patternSchema;
    if (child === null && Object.hasOwn(properties, key)) delete value[key];
    else if (childSchema) dropEmptyKeys(child, childSchema);
  }
}

/** `['risk', 'quantity', 'thresholds', 0]` → `risk.quantity.thresholds[0]`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

/** Every schema problem of the file, one per path (as in the file: `risk.quantity.thresholds[0]`). */
export function schemaProblems(value: unknown): Problem[] {
  const errors = withAllErrors(() => Value.Errors(FileSchema, value));
  return schemaIssues(errors, { value, schema: FileSchema, unknown: 'unknown key' }).map(({ path, message }) => ({
    path,
    message,
  }));
}

/** Problems of one value destined for `path` (e.g. an environment override of `server.port`). */
export function valueProblem(path: readonly string[], value: unknown): string | undefined {
  let schema: unknown = FileSchema;
  for (const key of path) schema = isObject(schema) && isObject(schema.properties) ? schema.properties[key] : undefined;
  if (!isObject(schema)) throw new Error(`no configuration key ${path.join('.')}`);
  const [first] = Value.Errors(schema as TSchema, value);
  if (first === undefined) return undefined;
  return typeof schema.message === 'string' ? schema.message : first.message;
}
