// A change-set's state as its audit entries tell it: the status each entry leads to (each checked
// against the lifecycle table), the approval rows its decisions leave, and the resource versions
// its applies and rollbacks wrote. Audit verification compares this with the state tables, so that
// a row written behind the engine's back (an approval, a status, a resource version) is reported.
import type { AuditContent } from './audit-chain.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import { type Action, LIFECYCLE } from './lifecycle.js';
import type { Decision, Json, Status } from './types.js';

/** An approval row as the decisions recorded it. */
export interface ReplayedApproval {
  approver_id: string;
  decision: Decision;
  content_hash: string;
  stale: boolean;
  decided_at: string;
}

/** A resource version an apply or rollback recorded writing: type, id, version, state digest. */
export type WrittenVersion = [target_type: string, target_id: string, version: number, digest: string];

export interface Replayed {
  /** The status the entries lead to; null when there are no entries. */
  status: Status | null;
  approvals: ReplayedApproval[];
  /** The versions written; null when an apply or rollback entry predates recording them. */
  written: WrittenVersion[] | null;
  /** Entries the lifecycle does not allow where they stand. */
  problems: { chain_seq: number; message: string }[];
}

/** A written state's digest, as apply and rollback record it (128 bits of SHA-256). */
export function stateDigest(present: boolean, state: unknown): string {
  return sha256Hex(canonicalJson({ present, state: present ? (state ?? null) : null })).slice(0, 32);
}

type Entry = Pick<AuditContent, 'chain_seq' | 'at' | 'actor' | 'action' | 'data'>;

const field = (data: Json, key: string): unknown =>
  data !== null && typeof data === 'object' && !Array.isArray(data) ? data[key] : undefined;

/** The lifecycle action an entry performs (its `from` is checked), if it is one. */
function lifecycleAction(entry: Entry): Action | null {
  switch (entry.action) {
    case 'decision':
      return field(entry.data, 'decision') === 'REJECTED' ? 'reject' : 'approve';
    case 'apply_failed':
      return 'apply';
    case 'edit':
    case 'submit':
    case 'withdraw':
    case 'reopen':
    case 'close':
    case 'apply':
    case 'rollback':
      return entry.action;
    default:
      return null;
  }
}

/** The status an entry leads to, if it changes it. */
function statusAfter(entry: Entry): Status | null {
  const { action, data } = entry;
  if (action === 'create' || action === 'submit' || action === 'apply')
    return (field(data, 'status') as Status) ?? null;
  if (action === 'auto_approve') return 'APPROVED';
  if (action === 'rollback') return 'ROLLED_BACK';
  if (['transition', 'withdraw', 'reopen', 'close'].includes(action)) return (field(data, 'to') as Status) ?? null;
  return null;
}

function decide(approvals: ReplayedApproval[], entry: Entry): void {
  const current = approvals.find((a) => a.approver_id === entry.actor && !a.stale);
  const recorded = {
    approver_id: entry.actor,
    decision: field(entry.data, 'decision') as Decision,
    content_hash: field(entry.data, 'content_hash') as string,
    stale: false,
    decided_at: entry.at,
  };
  // A principal has one current decision: a second one replaces it (store/approvals.ts).
  if (current) Object.assign(current, recorded);
  else approvals.push(recorded);
}

/** Replays one change-set's entries, in chain order. */
export function replayChangeSet(entries: readonly Entry[]): Replayed {
  let status: Status | null = null;
  const approvals: ReplayedApproval[] = [];
  let written: WrittenVersion[] | null = [];
  const problems: Replayed['problems'] = [];
  for (const entry of entries) {
    const action = lifecycleAction(entry);
    if (entry.chain_seq === 1 && entry.action !== 'create') {
      problems.push({ chain_seq: 1, message: `the chain starts with ${entry.action}, not create` });
    }
    if (action && status !== null && !LIFECYCLE[action].from.includes(status)) {
      problems.push({
        chain_seq: entry.chain_seq,
        message: `${entry.action} at chain position ${entry.chain_seq} while the audit entries say ${status} (${action} needs ${LIFECYCLE[action].from.join(' or ')})`,
      });
    }
    const from = field(entry.data, 'from');
    if (entry.action === 'transition' && status !== null && from !== status) {
      problems.push({
        chain_seq: entry.chain_seq,
        message: `transition at chain position ${entry.chain_seq} from ${String(from)} while the audit entries say ${status}`,
      });
    }
    if (entry.action === 'decision') decide(approvals, entry);
    const next = statusAfter(entry);
    // Returning to DRAFT makes every current decision stale (engine/transitions.ts).
    if (next === 'DRAFT' && (entry.action === 'withdraw' || entry.action === 'reopen')) {
      for (const approval of approvals) approval.stale = true;
    }
    if (entry.action === 'apply' || entry.action === 'rollback') {
      const versions = field(entry.data, 'written');
      written = written && Array.isArray(versions) ? [...written, ...(versions as WrittenVersion[])] : null;
    }
    if (next !== null) status = next;
  }
  return { status, approvals, written, problems };
}

/** What an apply or rollback records of the versions it writes (`written` in its audit entry). */
export function writtenVersions(
  history: readonly { target_type: string; target_id: string; version: number; present: boolean; state: unknown }[],
): WrittenVersion[] {
  return history.map((h) => [h.target_type, h.target_id, h.version, stateDigest(h.present, h.state)]);
}

/** A principal as the system chain tells it: what decides what it may do. */
export interface ReplayedPrincipal {
  kind: string;
  groups: string[];
  active: boolean;
}

export interface ReplayedSystem {
  principals: Map<string, ReplayedPrincipal>;
  /** Tokens by id: whom each was issued to, and whether it was revoked. */
  tokens: Map<string, { principal_id: string; revoked: boolean }>;
}

/**
 * Replays the system chain: `principal.create` and `principal.update` give each principal's kind,
 * groups and active flag; any entry naming a `token_id` and its `principal_id` issues that token
 * (token.create, and whatever else issues one), `token.revoke` revokes it.
 */
export function replaySystem(entries: readonly Pick<AuditContent, 'action' | 'data'>[]): ReplayedSystem {
  const principals = new Map<string, ReplayedPrincipal>();
  const tokens = new Map<string, { principal_id: string; revoked: boolean }>();
  for (const { action, data } of entries) {
    const id = field(data, 'id');
    if ((action === 'principal.create' || action === 'principal.update') && typeof id === 'string') {
      const known = principals.get(id) ?? { kind: '', groups: [], active: true };
      const kind = field(data, 'kind');
      const groups = field(data, 'groups');
      const active = field(data, 'active');
      principals.set(id, {
        kind: typeof kind === 'string' ? kind : known.kind,
        groups: Array.isArray(groups) ? (groups as string[]) : known.groups,
        active: typeof active === 'boolean' ? active : known.active,
      });
    }
    const tokenId = field(data, 'token_id');
    const owner = field(data, 'principal_id');
    if (typeof tokenId === 'string' && typeof owner === 'string') {
      const token = tokens.get(tokenId) ?? { principal_id: owner, revoked: false };
      if (action === 'token.revoke') token.revoked = true;
      tokens.set(tokenId, token);
    }
  }
  return { principals, tokens };
}
