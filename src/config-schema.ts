// The configuration file's shape (SPEC §12) as a TypeBox schema, and the translation of its
// validation errors into one problem per path with a message a person can act on.
// Risk numbers are only type-checked here: their ranges belong to core's validateRiskConfig.

import { type Static, type TLiteral, type TOptional, type TProperties, type TSchema, Type } from 'typebox';
import { Settings } from 'typebox/system';
import { Value } from 'typebox/value';
import { pointerTokens, pointerToPath } from './core/json-pointer.js';
import { POLICY_ACTIONS, POLICY_EFFECTS } from './core/policy.js';
import { CHANNEL_TYPES } from './notify/notify-config.js';

export interface Problem {
  /** A dotted path (`server.port`, `risk.quantity.thresholds[0].score`), or a variable name. */
  path: string;
  message: string;
  /** True when `path` is an environment variable rather than a place in the file. */
  variable?: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const ON_EXPIRY = ['none', 'reject'] as const;

// setTimeout fires at once for any delay above 2^31 - 1 ms, so larger timeouts would be no timeout.
const MAX_TIMER_MS = 2_147_483_647;
// Deadlines are added to a Date; a year keeps them far from overflow and still generous.
const MAX_DEADLINE_HOURS = 8760;

const int = (minimum: number, maximum: number) =>
  Type.Integer({ minimum, maximum, message: `must be an integer from ${minimum} to ${maximum}` });
const intAtLeast = (minimum: number) =>
  Type.Integer({ minimum, maximum: Number.MAX_SAFE_INTEGER, message: `must be an integer of at least ${minimum}` });
const millis = () => int(1, MAX_TIMER_MS);
const text = () => Type.String({ minLength: 1, message: 'must be a non-empty string' });
const num = () => Type.Number({ message: 'must be a number' });
const str = () => Type.String({ message: 'must be a string' });
const fraction = (maximum: number) =>
  Type.Number({ minimum: 0, maximum, message: `must be a number from 0 to ${maximum}` });
const oneOf = <T extends string>(values: readonly T[]) =>
  Type.Union(
    // Typed as one literal of the whole union: Static<> only reads tuples, and this is equivalent.
    values.map((value) => Type.Literal(value)) as [TLiteral<T>],
    { message: `must be one of ${values.join(', ')}` },
  );
const principalOrGroup = () =>
  Type.String({ minLength: 1, pattern: '^(?!group:$)', message: 'must be a principal id or group:NAME' });
const list = <T extends TSchema>(item: T) => Type.Array(item, { message: 'must be a list' });
const map = <T extends TSchema>(value: T) => Type.Record(Type.String(), value, { message: 'must be a mapping' });
/** A list entry: every key required, no others. */
const row = <P extends TProperties>(properties: P) =>
  Type.Object(properties, { additionalProperties: false, message: 'must be a mapping' });
/** A section: every key optional, no others. (Type.Partial would drop the options.) */
const section = <P extends TProperties>(properties: P) => {
  const optional = Object.fromEntries(Object.entries(properties).map(([key, schema]) => [key, Type.Optional(schema)]));
  return Type.Object(optional as { [K in keyof P]: TOptional<P[K]> }, {
    additionalProperties: false,
    message: 'must be a mapping',
  });
};

const RiskSection = section({
  operation: section({ scores: map(num()), default: num(), cap: num() }),
  target: section({
    sensitive_types: list(str()),
    sensitive_type_score: num(),
    protected_prefixes: list(str()),
    protected_prefix_score: num(),
    cap: num(),
  }),
  agent_default: num(),
  scope: section({ high_impact: list(str()), high_impact_score: num(), categories: map(num()), default: num() }),
  quantity: section({ thresholds: list(row({ max_items: num(), score: num() })), above: num() }),
  weights: section({ operation: num(), target: num(), agent: num(), scope: num(), quantity: num() }),
  levels: section({ critical: num(), high: num(), medium: num() }),
  approvals: section({ critical: num(), high: num(), medium: num(), low: num() }),
  auto_approve: section({ operation_below: num(), target_below: num(), scope_below: num(), quantity_below: num() }),
  recommendations: list(row({ factor: str(), above: num(), message: str() })),
});

const hours = () =>
  Type.Number({
    exclusiveMinimum: 0,
    maximum: MAX_DEADLINE_HOURS,
    message: `must be a number of hours above 0 and at most ${MAX_DEADLINE_HOURS}`,
  });

export const FileSchema = section({
  server: section({
    host: text(),
    port: int(1, 65535),
    body_limit_bytes: intAtLeast(1024),
    request_timeout_ms: millis(),
    shutdown_timeout_ms: millis(),
    drain_ms: int(0, 60_000),
    max_in_flight: int(0, 100_000),
    admission_wait_ms: int(0, 60_000),
  }),
  database: section({ url: text(), data_dir: text(), pool_max: int(1, 1000), statement_timeout_ms: millis() }),
  risk: RiskSection,
  agents: map(num()),
  approvers: map(list(principalOrGroup())),
  approval: section({
    deadlines: section({ CRITICAL: hours(), HIGH: hours(), NORMAL: hours(), LOW: hours() }),
    escalate_after: fraction(10),
    on_expiry: oneOf(ON_EXPIRY),
    expire_after: fraction(10),
    escalation_contacts: list(principalOrGroup()),
    auto_approve: Type.Boolean({ message: 'must be true or false' }),
    require_content_hash: Type.Boolean({ message: 'must be true or false' }),
  }),
  limits: section({
    max_items: int(1, 100_000),
    page_size_max: int(1, 1000),
    write_requests_per_minute: int(0, 1_000_000),
    write_burst: int(1, 1_000_000),
  }),
  auth: section({
    token_cache_ms: int(0, 60_000),
    admin_may_issue_human_tokens: Type.Boolean({ message: 'must be true or false' }),
    enrolment_ttl_hours: hours(),
  }),
  audit: section({ signing_key_file: text() }),
  oidc: section({
    issuer: Type.String({ pattern: '^https?://', message: 'must be an http(s) URL' }),
    client_id: text(),
    client_secret: text(),
    redirect_url: Type.String({ pattern: '^https?://', message: 'must be an http(s) URL' }),
    scopes: list(text()),
    principal_claim: text(),
    groups_claim: text(),
    group_map: map(text()),
    auto_create: Type.Boolean({ message: 'must be true or false' }),
  }),
  dashboard_url: Type.String({ pattern: '^https?://', message: 'must be an http(s) URL' }),
  log_level: oneOf(LOG_LEVELS),
  policies: list(
    Type.Object(
      {
        name: Type.String({
          pattern: '^[A-Za-z0-9._-]{1,64}$',
          message: "must be 1–64 characters of A–Z, a–z, 0–9, '.', '_', '-'",
        }),
        condition: text(),
        effect: oneOf(POLICY_EFFECTS),
        actions: Type.Optional(list(oneOf(POLICY_ACTIONS))),
        approvers: Type.Optional(list(Type.String({ minLength: 1, message: 'must be a principal id or group:NAME' }))),
        count: Type.Optional(int(1, 100)),
        message: Type.Optional(str()),
      },
      { additionalProperties: false, message: 'must be a mapping' },
    ),
  ),
  notifications: section({
    channels: map(
      Type.Object(
        {
          type: oneOf(CHANNEL_TYPES),
          url: Type.Optional(text()),
          secret: Type.Optional(text()),
          events: Type.Optional(list(text())),
          headers: Type.Optional(map(str())),
          host: Type.Optional(text()),
          port: Type.Optional(int(1, 65535)),
          secure: Type.Optional(Type.Boolean({ message: 'must be true or false' })),
          user: Type.Optional(text()),
          password: Type.Optional(text()),
          from: Type.Optional(text()),
          webhook_url: Type.Optional(text()),
          bot_token: Type.Optional(text()),
          api_url: Type.Optional(text()),
          channel: Type.Optional(text()),
        },
        { additionalProperties: false, message: 'must be a mapping' },
      ),
    ),
    routes: list(
      Type.Object(
        {
          events: list(text()),
          when: Type.Optional(text()),
          recipients: list(text()),
          channels: Type.Optional(list(text())),
        },
        { additionalProperties: false, message: 'must be a mapping' },
      ),
    ),
    dispatcher: section({
      enabled: Type.Boolean({ message: 'must be true or false' }),
      poll_interval_ms: millis(),
      batch_size: int(1, 10_000),
      concurrency: int(1, 1_000),
      max_attempts: int(1, 100),
      backoff_base_ms: millis(),
      backoff_max_ms: millis(),
      timeout_ms: millis(),
    }),
  }),
});

export type FileConfig = Static<typeof FileSchema>;

/** The defaults of every key outside `risk`, `agents` and `approvers` (core holds those). */
export const DEFAULTS = {
  server: {
    host: '127.0.0.1',
    port: 8080,
    body_limit_bytes: 10 * 1024 * 1024,
    request_timeout_ms: 30_000,
    shutdown_timeout_ms: 10_000,
    drain_ms: 1_000,
    max_in_flight: 0,
    admission_wait_ms: 1_000,
  },
  database: { url: null, data_dir: './.changeledger', pool_max: 10, statement_timeout_ms: 30_000 },
  approval: {
    escalate_after: 0.5,
    on_expiry: 'none',
    expire_after: 1,
    escalation_contacts: ['group:admin'],
    auto_approve: true,
    require_content_hash: false,
  },
  deadline_hours: { CRITICAL: 2, HIGH: 8, NORMAL: 24, LOW: 48 },
  limits: { max_items: 10_000, page_size_max: 200, write_requests_per_minute: 600, write_burst: 60 },
  auth: { token_cache_ms: 1_000, admin_may_issue_human_tokens: false, enrolment_ttl_hours: 24 },
  audit: { signing_key_file: null },
  oidc: {
    issuer: null,
    client_id: null,
    redirect_url: null,
    scopes: ['openid', 'email', 'profile'],
    principal_claim: 'email',
    groups_claim: 'groups',
    auto_create: false,
  },
  dashboard_url: 'http://127.0.0.1:8080',
  log_level: 'info',
} as const;

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

type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

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

/** The `message` option of the schema at a `#/properties/…` path, if it has one. */
function messageAt(schemaPath: string): string | undefined {
  let node: unknown = FileSchema;
  for (const token of pointerTokens(schemaPath)) {
    node = isObject(node) ? node[token] : undefined;
  }
  return isObject(node) && typeof node.message === 'string' ? node.message : undefined;
}

function allErrors(value: unknown) {
  const { maxErrors } = Settings.Get();
  // The default of 8 buffered errors would hide all but the first few problems of a file.
  Settings.Set({ maxErrors: 10_000 });
  try {
    return Value.Errors(FileSchema, value);
  } finally {
    Settings.Set({ maxErrors });
  }
}

/** Every schema problem of the file, one per path. */
export function schemaProblems(value: unknown): Problem[] {
  const found = new Map<string, { custom?: string; fallback: string }>();
  const note = (pointer: string, message: string, custom?: string) => {
    const path = pointerToPath(pointer, { value });
    const seen = found.get(path) ?? { fallback: message };
    if (custom !== undefined && seen.custom === undefined) seen.custom = custom;
    found.set(path, seen);
  };
  for (const error of allErrors(value)) {
    // An unknown key is reported at its own path (keyword `boolean`), not again at its parent.
    if (error.keyword === 'additionalProperties') continue;
    if (error.keyword === 'boolean') note(error.instancePath, 'unknown key', 'unknown key');
    else if (error.keyword === 'required') {
      const missing = (error.params as { requiredProperties?: string[] }).requiredProperties ?? [];
      for (const key of missing) note(`${error.instancePath}/${key}`, 'is required', 'is required');
    } else note(error.instancePath, error.message, messageAt(error.schemaPath));
  }
  return [...found].map(([path, { custom, fallback }]) => ({ path, message: custom ?? fallback }));
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
