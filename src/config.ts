// The one configuration loader (docs/configuration.md): an optional YAML file plus the environment, validated
// into a deep-frozen Config. Every problem is reported at once, each at its exact path.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Alias, type Document, isAlias, isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { policyProblems } from './config-policies.js';
import {
  dropEmptyKeys,
  ENV_OVERRIDES,
  type FileConfig,
  FileSchema,
  type FileSections,
  formatPath,
  schemaProblems,
  valueProblem,
} from './config-schema.js';
import type { ApproverMap } from './core/approvals.js';
import { isObject, type Problem, withDefaults } from './core/config-kit.js';
import { deepFreeze } from './core/deep-freeze.js';
import { LedgerError } from './core/errors.js';
import { compilePolicies, type PolicyDefinition } from './core/policy.js';
import { type RiskConfig, RiskSchema, validateRiskConfig } from './core/risk.js';
import type { Priority } from './core/types.js';
import type { EngineConfig } from './engine/engine-config.js';
import { buildNotifications, type NotificationsConfig, notificationProblems } from './notify/notify-config.js';

/**
 * The resolved configuration: the file's sections (config-schema.ts, where each key is declared
 * with its default) with the file's values, and what the loader derives from them.
 */
export interface Config
  extends Pick<
    FileSections,
    'server' | 'database' | 'cache' | 'limits' | 'auth' | 'audit' | 'mcp' | 'trust' | 'dashboard_url' | 'log_level'
  > {
  /** Core's risk config: `risk` merged over the defaults, plus `agents` and `approval.auto_approve`. */
  risk: RiskConfig;
  /** Category → principal ids or `group:NAME`. */
  approvers: ApproverMap;
  /** The file's `approval`, its `deadlines` read as `deadline_hours`. */
  approval: Omit<FileSections['approval'], 'deadlines'> & { deadline_hours: Record<Priority, number> };
  /** `redirect_url` defaults to <dashboard_url>/api/ledger/auth/oidc/callback. */
  oidc: FileSections['oidc'] & { redirect_url: string };
  /** Policy definitions (compiled by engineConfigOf; every one compiles, the loader checked). */
  policies: PolicyDefinition[];
  notifications: NotificationsConfig;
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
  /** The same problems with their paths (empty when the text is not even YAML). */
  readonly details: readonly Problem[];

  constructor(problems: readonly string[], options?: { cause?: unknown; details?: readonly Problem[] }) {
    super(problems.join('\n'), options);
    this.problems = problems;
    this.details = options?.details ?? [];
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
  const name = whole?.[1];
  return name !== undefined && plain && reader.env[name] !== undefined ? typedScalar(spliced) : spliced;
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
  const risk = isObject(file.risk) ? file.risk : {};
  const autoApprove = isObject(risk.auto_approve) ? risk.auto_approve : {};
  // Sections merge key by key over the defaults; maps and lists (scores, thresholds…) replace.
  return withDefaults(RiskSchema, {
    ...risk,
    agents: file.agents,
    auto_approve: { ...autoApprove, enabled: file.approval?.auto_approve },
  });
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

function buildOidc(oidc: FileSections['oidc'], dashboardUrl: string): Config['oidc'] {
  return { ...oidc, redirect_url: oidc.redirect_url ?? `${dashboardUrl}/api/ledger/auth/oidc/callback` };
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
  const sections = withDefaults(FileSchema, file);
  const { deadlines, ...approval } = sections.approval;
  const dashboardUrl = sections.dashboard_url.replace(/\/+$/, '');
  return {
    server: sections.server,
    database: sections.database,
    cache: sections.cache,
    risk,
    approvers: sections.approvers,
    approval: { ...approval, deadline_hours: deadlines },
    limits: sections.limits,
    auth: sections.auth,
    audit: sections.audit,
    oidc: buildOidc(sections.oidc, dashboardUrl),
    policies: sections.policies as PolicyDefinition[],
    notifications: buildNotifications(file.notifications),
    mcp: sections.mcp,
    trust: sections.trust,
    dashboard_url: dashboardUrl,
    log_level: sections.log_level,
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
    problems.push(...notificationProblems(file.notifications));
  }
  if (!problems.some((p) => /^(oidc(\.|$)|CHANGELEDGER_OIDC)/.test(p.path))) problems.push(...oidcProblems(file));
  if (problems.length > 0) {
    throw new ConfigError(
      problems.map((problem) => formatProblem(problem, source)),
      { details: problems },
    );
  }
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
    trust: config.trust,
  });
}

/**
 * A candidate configuration for replay (YAML or JSON text), validated by the same schema and rules
 * as the real one, read without the environment (a `${NAME}` reference is a problem): 400
 * VALIDATION_FAILED naming every problem's path otherwise.
 */
export function candidateEngineConfig(text: string): EngineConfig {
  try {
    return engineConfigOf(parseConfig(text, { env: {}, source: 'the candidate configuration' }));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const details = error.details.map(({ path, message }) => ({ path: path === '' ? '(top level)' : path, message }));
    const shown = error.problems.slice(0, 3).join('; ');
    const more = error.problems.length > 3 ? ` (and ${error.problems.length - 3} more)` : '';
    throw new LedgerError('VALIDATION_FAILED', `${shown}${more}`, details.length > 0 ? details : undefined, {
      cause: error,
    });
  }
}

/** Every default, as used when there is no file and no environment. */
export const DEFAULT_CONFIG: Config = resolveConfig('', {}, '(defaults)', null);
