// Bodies of the action routes (approve, apply, rollback, close…): small, strict, all problems at once.
import { CONTENT_HASH_PATTERN, MAX_LENGTH } from './input-rules.js';
import { oneOfMessage } from './schema-issues.js';
import { APPLY_MODES, type ApplyMode, DECISIONS, type Decision } from './types.js';
import { type ValidationIssue, validationError } from './validate-change-set.js';

const MAX_REASON = MAX_LENGTH.reason;

type Body = Record<string, unknown>;

function asBody(body: unknown, issues: ValidationIssue[]): Body {
  if (body === undefined || body === null) return {};
  if (typeof body === 'object' && !Array.isArray(body)) return body as Body;
  issues.push({ path: '', message: 'must be a JSON object' });
  return {};
}

function unknownFields(body: Body, known: readonly string[], issues: ValidationIssue[]): void {
  for (const key of Object.keys(body)) if (!known.includes(key)) issues.push({ path: key, message: 'unknown field' });
}

function reasonOf(body: Body, issues: ValidationIssue[]): string | null {
  const reason = body['reason'];
  if (reason === undefined || reason === null) return null;
  if (typeof reason !== 'string') issues.push({ path: 'reason', message: 'must be a string' });
  else if (reason.length > MAX_REASON)
    issues.push({ path: 'reason', message: `must be at most ${MAX_REASON} characters` });
  else if (reason.includes('\u0000')) issues.push({ path: 'reason', message: 'must not contain the NUL character' });
  else return reason;
  return null;
}

function finish<T>(issues: ValidationIssue[], value: T): T {
  if (issues.length > 0) throw validationError(issues);
  return value;
}

function contentHashOf(body: Body, required: boolean, issues: ValidationIssue[]): string | null {
  const hash = body['content_hash'];
  if (hash === undefined || hash === null) {
    if (required) {
      issues.push({
        path: 'content_hash',
        message:
          'is required (approval.require_content_hash is on): send the content_hash of the change-set you reviewed',
      });
    }
    return null;
  }
  if (typeof hash === 'string' && CONTENT_HASH_PATTERN.test(hash)) return hash;
  issues.push({
    path: 'content_hash',
    message: 'must be a content hash as the API returns it: sha256:<64 hex digits>',
  });
  return null;
}

export interface ParsedDecision {
  decision: Decision;
  reason: string | null;
  /** The content the reviewer saw; null when not sent. */
  content_hash: string | null;
}

/** `requireContentHash` (config approval.require_content_hash) makes `content_hash` mandatory. */
export function parseDecision(body: unknown, options: { requireContentHash?: boolean } = {}): ParsedDecision {
  const issues: ValidationIssue[] = [];
  const b = asBody(body, issues);
  unknownFields(b, ['decision', 'reason', 'content_hash'], issues);
  const decision = b['decision'];
  if (!DECISIONS.includes(decision as Decision)) {
    issues.push({ path: 'decision', message: oneOfMessage(DECISIONS), allowed: [...DECISIONS] });
  }
  const reason = reasonOf(b, issues);
  const content_hash = contentHashOf(b, options.requireContentHash === true, issues);
  return finish(issues, { decision: decision as Decision, reason, content_hash });
}

export function parseApply(body: unknown): { mode: ApplyMode } {
  const issues: ValidationIssue[] = [];
  const b = asBody(body, issues);
  unknownFields(b, ['mode'], issues);
  const mode = b['mode'] ?? 'AUTO';
  if (!APPLY_MODES.includes(mode as ApplyMode))
    issues.push({ path: 'mode', message: oneOfMessage(APPLY_MODES), allowed: [...APPLY_MODES] });
  return finish(issues, { mode: mode as ApplyMode });
}

export function parseRollback(body: unknown): { reason: string | null; force: boolean } {
  const issues: ValidationIssue[] = [];
  const b = asBody(body, issues);
  unknownFields(b, ['reason', 'force'], issues);
  const force = b['force'] ?? false;
  if (typeof force !== 'boolean') issues.push({ path: 'force', message: 'must be a boolean' });
  return finish(issues, { reason: reasonOf(b, issues), force: force === true });
}

export function parseReason(body: unknown): { reason: string | null } {
  const issues: ValidationIssue[] = [];
  const b = asBody(body, issues);
  unknownFields(b, ['reason'], issues);
  return finish(issues, { reason: reasonOf(b, issues) });
}
