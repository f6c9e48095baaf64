// The one configuration loader (SPEC §12): an optional YAML file plus the environment, validated
// into a deep-frozen Config. Every problem is reported at once, each at its exact path.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Alias, type Document, isAlias, isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { policyProblems } from './config-policies.js';
import {
  DEFAULTS,
  dropEmptyKeys,
  ENV_OVERRIDES,
  type FileConfig,
  formatPath,
  isObject,
  type LOG_LEVELS,
  type ON_EXPIRY,
  type Problem,
  schemaProblems,
  valueProblem,
} from './config-schema.js';
import { type ApproverMap, DEFAULT_APPROVERS } from './core/approvals.js';
import { deepFreeze } from './core/deep-freeze.js';
import { compilePolicies, type PolicyDefinition } from './core/policy.js';
import { DEFAULT_RISK_CONFIG, type RiskConfig, validateRiskConfig } from './core/risk.js';
import type { Priority } from './core/types.js';
import type { EngineConfig } from './engine/engine-config.js';
import { buildNotifications, type NotificationsConfig, notificationProblems } from './notify/notify-config.js';

export interface Config {
  server: {
    host: string;
    port: number;
    body_limit_bytes: number;
    request_timeout_ms: number;
    shutdown_timeout_ms: number;
    /** After SIGTERM: how long /readyz answers 503 while requests are still served, before closing. */
    drain_ms: number;
    /** API requests this instance works on at once (admission control); 0 turns it off. */
    max_in_flight: number;
    /** How long a request waits for one of those slots before it is answered 503 OVERLOADED. */
    admission_wait_ms: number;
  };
  database: { url: string | null; data_dir: string; pool_max: number; statement_timeout_ms: number };
  /** Core's risk config: `risk` merged over the defaults, plus `agents` and `approval.auto_approve`. */
  risk: RiskConfig;
  /** Category → principal ids or `group:NAME`. */
  approvers: ApproverMap;
  approval: {
    deadline_hours: Record<Priority, number>;
    /** Fraction of the deadline period, counted from the deadline, after which to escalate. */
    escalate_after: number;
    on_expiry: (typeof ON_EXPIRY)[number];
    /** Fraction of the deadline period, counted from the deadline, after which to expire. */
    expire_after: number;
    /** Who hears of an escalation: principal ids or `group:NAME`. */
    escalation_contacts: string[];
    auto_approve: boolean;
    /** Every decision must send the content_hash of the change-set its reviewer read. */
    require_content_hash: boolean;
  };
  limits: {
    max_items: number;
    page_size_max: number;
    /** Per principal and server instance; 0 turns the limit off. */
    write_requests_per_minute: number;
    write_burst: number;
  };
  auth: {
    /**
     * How long a successful token lookup is remembered, per server instance (0 turns it off). A
     * token revoked or a principal deactivated through another instance still works here for up
     * to this long; through this instance the change takes effect at once.
     */
    token_cache_ms: number;
    /**
     * Whether an admin may issue API tokens for human principals (development set-ups only): off,
     * a human gets credentials through a one-time enrolment that only they redeem.
     */
    admin_may_issue_human_tokens: boolean;
    /** How long an enrolment code may be redeemed, in hours. */
    enrolment_ttl_hours: number;
  };
  audit: {
    /**
     * The Ed25519 key that signs audit chain heads (PKCS#8 PEM); null: <data_dir>/audit-signing-key.pem,
     * created by `serve` when absent. A file named here must exist.
     */
    signing_key_file: string | null;
  };
  /**
   * Single sign-on for the dashboard (OpenID Connect, authorization code with PKCE); off while
   * `issuer` is null. See docs/identity.md.
   */
  oidc: {
    issuer: string | null;
    client_id: string | null;
    /** From the file or CHANGELEDGER_OIDC_CLIENT_SECRET (the environment wins). */
    client_secret: string | null;
    /** Where the provider sends the browser back; default <dashboard_url>/api/ledger/auth/oidc/callback. */
    redirect_url: string;
    scopes: string[];
    /** The claim naming the principal: `email` matches a principal's email, any other claim its id. */
    principal_claim: string;
    /** The claim listing the person's groups at the provider. */
    groups_claim: string;
    /** Provider group → changeledger group; empty: groups are not managed by sign-in. */
    group_map: Record<string, string>;
    /** Whether a person the ledger does not know becomes a new human principal at first sign-in. */
    auto_create: boolean;
  };
  /** Policy definitions (compiled by engineConfigOf; every one compiles, the loader checked). */
  policies: PolicyDefinition[];
  notifications: NotificationsConfig;
  dashboard_url: string;
  log_level: (typeof LOG_LEVELS)[number];
  /** From CHANGELEDGER_ADMIN_TOKEN only: a secret never belongs in the file. */
  admin_token: string | null;
  /** From CHANGELEDGER_AUDIT_KEY only (the signing key itself, PEM or its base64 body); wins over the file. */
  audit_key: string | null;
  /** The file that was loaded, if any. */
  config_path: string | null;
}

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One line per problem, each naming its file and path or its environment variable. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: { cause?: unknown }) {
    super(problems.join('\n'), options);
    this.problems = problems;
  }
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// An empty environment variable counts as unset, as `PORT=` in a compose file usually means.
const envValue = (env: Env, name: string): string | undefined => (env[name] === '' ? undefined : env[name]);

/** An environment value as a YAML scalar would read it: `8080` a number, `false` a boolean, `''` null. */
function typedScalar(text: string): unknown {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return text;
  const value = doc.contents === null ? null : isScalar(doc.contents) ? doc.contents.value : text;
  // Anything that reads as a string keeps its exact text (quotes, `#`, tags and all).
  return typeof value === 'string' ? text : value;
}

interface Reader {
  doc: Document;
  env: Env;
  problems: Problem[];
  aliases: number;
  /** The maps and lists being read, to catch an alias to one of its own ancestors. */
  open: Set<unknown>;
}

// Bounds alias expansion, so exponentially nested aliases cannot hang the start.
const MAX_ALIASES = 1000;

/** `${NAME}` → the variable's text, `$${` → `${`; an unset or malformed reference is a problem. */
function splice(text: string, path: string, reader: Reader): string {
  return text.replace(/\$\$\{|\$\{([^}]*)(\}?)/g, (match, name: string | undefined, close: string) => {
    if (match === '$${') return '${';
    const value = name === undefined ? undefined : reader.env[name];
    let message: string;
    if (close === '') message = 'unterminated ${ (write $${ for a literal ${)';
    else if (!VARIABLE_NAME.test(name ?? '')) message = `invalid environment variable name ${JSON.stringify(name)}`;
    else if (value === undefined) message = `environment variable ${name} is not set`;
    else return value;
    reader.problems.push({ path, message });
    return match;
  });
}

function substitute(text: string, plain: boolean, path: string, reader: Reader): unknown {
  const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(text);
  const spliced = splice(text, path, reader);
  // A plain `${NAME}` takes the value's YAML type (`port: ${PORT}`); a quoted one stays a string.
  return whole && plain && reader.env[whole[1]!] !== undefined ? typedScalar(spliced) : spliced;
}

function resolveAlias(node: Alias, path: (string | number)[], reader: Reader): unknown {
  const target = node.resolve(reader.doc);
  reader.aliases += 1;
  if (reader.aliases <= MAX_ALIASES && !reader.open.has(target)) return toData(target, path, reader);
  if (reader.open.has(target)) {
    reader.problems.push({ path: formatPath(path), message: 'YAML alias refers to a node that contains it' });
  } else if (reader.aliases === MAX_ALIASES + 1) {
    reader.problems.push({ path: formatPath(path), message: `more than ${MAX_ALIASES} YAML aliases` });
  }
  return null;
}

function mapToData(node: YAMLMap, path: (string | number)[], reader: Reader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of node.items) {
    const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const value = toData(pair.value, [...path, key], reader);
    // defineProperty: a key named `__proto__` must stay data, never become the prototype.
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The document as plain data, with `${NAME}` substituted in every string scalar (not keys). */
function toData(node: unknown, path: (string | number)[], reader: Reader): unknown {
  if (isAlias(node)) return resolveAlias(node, path, reader);
  if (isScalar(node)) {
    if (typeof node.value !== 'string') return node.value;
    return substitute(node.value, node.type === 'PLAIN', formatPath(path), reader);
  }
  if (!isSeq(node) && !isMap(node)) return null;
  reader.open.add(node);
  try {
    return isSeq(node)
      ? node.items.map((item, i) => toData(item, [...path, i], reader))
      : mapToData(node, path, reader);
  } finally {
    reader.open.delete(node);
  }
}

function parseYaml(yamlText: string, source: string): Document {
  const doc = parseDocument(yamlText);
  const [error] = doc.errors;
  if (error === undefined) return doc;
  // Only the first: the parser's later errors mostly follow from it.
  const where = error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : 'an unknown line';
  throw new ConfigError([`configuration error in ${source} at ${where}: ${error.message.split(' at line ')[0]}`]);
}

function readFile(doc: Document, env: Env, problems: Problem[]): Record<string, unknown> {
  const data = toData(doc.contents, [], { doc, env, problems, aliases: 0, open: new Set() });
  if (data === null) return {};
  if (!isObject(data)) {
    problems.push({ path: '', message: 'must be a mapping of sections' });
    return {};
  }
  dropEmptyKeys(data);
  const failed = new Set(problems.map((problem) => problem.path));
  // A failed substitution is already reported at its path; its leftover text would only add noise.
  problems.push(...schemaProblems(data).filter((problem) => !failed.has(problem.path)));
  if (typeof data.dashboard_url === 'string' && !URL.canParse(data.dashboard_url)) {
    problems.push({ path: 'dashboard_url', message: 'must be an http(s) URL' });
  }
  return data;
}

function applyEnvironment(data: Record<string, unknown>, env: Env, problems: Problem[]): void {
  for (const { variable, path, typed } of ENV_OVERRIDES) {
    const text = envValue(env, variable);
    if (text === undefined) continue;
    const value = typed ? typedScalar(text) : text;
    const message = valueProblem(path, value);
    if (message !== undefined) problems.push({ path: variable, message, variable: true });
    const [sectionKey, key] = path;
    if (key === undefined) data[sectionKey] = value;
    else data[sectionKey] = { ...(isObject(data[sectionKey]) ? data[sectionKey] : {}), [key]: value };
  }
}

function buildRisk(file: FileConfig): RiskConfig {
  const merged = structuredClone(DEFAULT_RISK_CONFIG) as unknown as Record<string, unknown>;
  // Objects merge key by key; maps and lists one level down (scores, thresholds…) replace.
  for (const [key, value] of Object.entries(file.risk ?? {})) {
    const current = merged[key];
    merged[key] = isObject(value) && isObject(current) ? { ...current, ...value } : value;
  }
  if (file.agents) merged.agents = { ...file.agents };
  const enabled = file.approval?.auto_approve ?? DEFAULTS.approval.auto_approve;
  merged.auto_approve = { ...(merged.auto_approve as object), enabled };
  return merged as unknown as RiskConfig;
}

function riskProblems(risk: RiskConfig): Problem[] {
  return validateRiskConfig(risk).map((line) => {
    const split = line.indexOf(' must ');
    if (split < 0) return { path: 'risk', message: line };
    // The agents map is a top-level section of the file, not part of `risk`.
    const path = line.slice(0, split).replace(/^risk\.agents(?=\.|$)/, 'agents');
    return { path, message: line.slice(split + 1) };
  });
}

function buildOidc(file: FileConfig, dashboardUrl: string): Config['oidc'] {
  const oidc = file.oidc ?? {};
  return {
    ...DEFAULTS.oidc,
    client_secret: null,
    ...oidc,
    redirect_url: oidc.redirect_url ?? `${dashboardUrl}/api/ledger/auth/oidc/callback`,
    scopes: [...(oidc.scopes ?? DEFAULTS.oidc.scopes)],
    group_map: { ...oidc.group_map },
  };
}

/** With an issuer, sign-in needs a client: its id, and the secret that also keys the login cookie. */
function oidcProblems(file: FileConfig): Problem[] {
  const oidc = file.oidc;
  if (!oidc?.issuer) return [];
  const problems: Problem[] = [];
  if (!oidc.client_id) problems.push({ path: 'oidc.client_id', message: 'is required when oidc.issuer is set' });
  if (!oidc.client_secret)
    problems.push({
      path: 'oidc.client_secret',
      message: 'is required when oidc.issuer is set (or set CHANGELEDGER_OIDC_CLIENT_SECRET)',
    });
  return problems;
}

function buildConfig(file: FileConfig, risk: RiskConfig, env: Env, configPath: string | null): Config {
  const { deadlines, ...approval } = file.approval ?? {};
  return {
    server: { ...DEFAULTS.server, ...file.server },
    database: { ...DEFAULTS.database, ...file.database },
    risk,
    approvers: structuredClone(file.approvers ?? DEFAULT_APPROVERS),
    approval: {
      ...DEFAULTS.approval,
      ...approval,
      deadline_hours: { ...DEFAULTS.deadline_hours, ...deadlines },
      escalation_contacts: [...(approval.escalation_contacts ?? DEFAULTS.approval.escalation_contacts)],
    },
    limits: { ...DEFAULTS.limits, ...file.limits },
    auth: { ...DEFAULTS.auth, ...file.auth },
    audit: { ...DEFAULTS.audit, ...file.audit },
    oidc: buildOidc(file, (file.dashboard_url ?? DEFAULTS.dashboard_url).replace(/\/+$/, '')),
    policies: structuredClone((file.policies ?? []) as PolicyDefinition[]),
    notifications: buildNotifications(file.notifications as Parameters<typeof buildNotifications>[0]),
    dashboard_url: (file.dashboard_url ?? DEFAULTS.dashboard_url).replace(/\/+$/, ''),
    log_level: file.log_level ?? DEFAULTS.log_level,
    admin_token: envValue(env, 'CHANGELEDGER_ADMIN_TOKEN') ?? null,
    audit_key: envValue(env, 'CHANGELEDGER_AUDIT_KEY') ?? null,
    config_path: configPath,
  };
}

function formatProblem(problem: Problem, source: string): string {
  if (problem.variable) return `configuration error in environment variable ${problem.path}: ${problem.message}`;
  const where = problem.path === '' ? 'the top level' : problem.path;
  return `configuration error in ${source} at ${where}: ${problem.message}`;
}

function resolveConfig(yamlText: string, env: Env, source: string, configPath: string | null): Config {
  const problems: Problem[] = [];
  const data = readFile(parseYaml(yamlText, source), env, problems);
  applyEnvironment(data, env, problems);
  const file = data as FileConfig;
  const riskShapeOk = !problems.some((p) => !p.variable && /^(risk|agents)(\.|\[|$)/.test(p.path));
  const risk = buildRisk(file);
  if (riskShapeOk) problems.push(...riskProblems(risk));
  if (!problems.some((p) => !p.variable && /^policies(\.|\[|$)/.test(p.path))) {
    problems.push(...policyProblems(file.policies as PolicyDefinition[] | undefined));
  }
  if (!problems.some((p) => !p.variable && /^notifications(\.|\[|$)/.test(p.path))) {
    problems.push(...notificationProblems(file.notifications as Parameters<typeof notificationProblems>[0]));
  }
  if (!problems.some((p) => /^(oidc(\.|$)|CHANGELEDGER_OIDC)/.test(p.path))) problems.push(...oidcProblems(file));
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => formatProblem(problem, source)));
  return deepFreeze(buildConfig(file, risk, env, configPath));
}

/**
 * Parses configuration text as if it were the file (for tests and `policy test`), with the
 * environment's `${NAME}` substitutions and overrides. `env` defaults to `process.env`.
 */
export function parseConfig(yamlText: string, options: { env?: Env; source?: string } = {}): Config {
  return resolveConfig(yamlText, options.env ?? process.env, options.source ?? '<string>', null);
}

interface Located {
  shown: string;
  absolute: string;
  origin: string;
}

/** `--config`, else CHANGELEDGER_CONFIG, else ./changeledger.yaml if it exists, else no file. */
function locateFile(path: string | undefined, env: Env, cwd: string): Located | null {
  const named = path ? { shown: path, origin: '--config' } : null;
  const fromEnv = envValue(env, 'CHANGELEDGER_CONFIG');
  const chosen = named ?? (fromEnv ? { shown: fromEnv, origin: 'CHANGELEDGER_CONFIG' } : null);
  if (chosen) return { ...chosen, absolute: resolve(cwd, chosen.shown) };
  const absolute = join(cwd, 'changeledger.yaml');
  return existsSync(absolute) ? { shown: './changeledger.yaml', absolute, origin: 'the working directory' } : null;
}

function readText(file: Located): string {
  try {
    return readFileSync(file.absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError([`configuration error in ${file.shown} (from ${file.origin}): ${reason}`], { cause: error });
  }
}

/** Finds, reads and validates the configuration; throws one ConfigError listing every problem. */
export function loadConfig(options: { path?: string; env?: Env; cwd?: string } = {}): Config {
  const env = options.env ?? process.env;
  const file = locateFile(options.path, env, options.cwd ?? process.cwd());
  if (file === null) return resolveConfig('', env, '(no file)', null);
  return resolveConfig(readText(file), env, file.shown, file.absolute);
}

/** What the engine needs from the configuration. */
export function engineConfigOf(config: Config): EngineConfig {
  return Object.freeze({
    risk: config.risk,
    approvers: config.approvers,
    approval: Object.freeze({
      deadline_hours: config.approval.deadline_hours,
      escalate_after: config.approval.escalate_after,
      on_expiry: config.approval.on_expiry,
      expire_after: config.approval.expire_after,
      escalation_contacts: config.approval.escalation_contacts,
      require_content_hash: config.approval.require_content_hash,
    }),
    limits: Object.freeze({ max_items: config.limits.max_items }),
    policies: Object.freeze(compilePolicies(config.policies)),
    auth: Object.freeze({ ...config.auth }),
  });
}

/** Every default, as used when there is no file and no environment. */
export const DEFAULT_CONFIG: Config = resolveConfig('', {}, '(defaults)', null);
