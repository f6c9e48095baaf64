// Audit trail reads and verification: every chain recomputed (the first break reported), every
// chain head's signature checked, and the state tables checked against what the chains record.

import { type AuditEntry, type ChainBreak, SYSTEM_CHAIN, verifyChain } from '../core/audit-chain.js';
import { type ReplayedApproval, replayChangeSet, replaySystem, stateDigest } from '../core/audit-replay.js';
import { defined } from '../core/defined.js';
import { LedgerError } from '../core/errors.js';
import { loadAuditPage, loadChainHeads, loadChangeSetAudit, type RecordedHead, signHead } from '../store/audit.js';
import {
  type ApprovalState,
  type HistoryState,
  loadApprovalStates,
  loadHistoryStates,
  loadIdentityStates,
  orphanHistory,
  resourcesOffHistory,
} from '../store/audit-state.js';
import { findChangeSet } from '../store/change-sets.js';
import type { Queryable } from '../store/db.js';
import type { AuditSigner } from './audit-signer.js';
import { found } from './context.js';

export const FINDING_KINDS = [
  'unsigned_head',
  'bad_signature',
  'lifecycle',
  'status',
  'approval',
  'resource_version',
  'resource',
  'principal',
  'token',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** A signature that fails, or a state row the chains do not account for. */
export interface VerifyFinding {
  kind: FindingKind;
  /** The chain concerned (a change-set's internal id, or `system`); null for resource rows. */
  chain: string | null;
  change_set_id: string | null;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  chains: number;
  entries: number;
  /** The first entry that does not match, if any. */
  first_break: (ChainBreak & { change_set_id?: string | null }) | null;
  /** `checked` is false when verify has no key: heads are then neither trusted nor reported. */
  signatures: { checked: boolean; key_id: string | null; signed: number; unsigned: number; invalid: number };
  /** The first MAX_FINDINGS findings; `findings_count` counts them all. */
  findings: VerifyFinding[];
  findings_count: number;
}

const PAGE = 5_000;
const BATCH_CHAINS = 500;
const MAX_FINDINGS = 100;

async function* chains(db: Queryable): AsyncGenerator<AuditEntry[]> {
  let current: AuditEntry[] = [];
  let after: { chain: string; chain_seq: number } | null = null;
  for (;;) {
    const page = await loadAuditPage(db, after, PAGE);
    for (const entry of page) {
      const first = current[0];
      if (first !== undefined && first.chain !== entry.chain) {
        yield current;
        current = [];
      }
      current.push(entry);
    }
    if (page.length < PAGE) break;
    after = defined(page.at(-1), 'last entry of a full page');
  }
  if (current.length > 0) yield current;
}

class Findings {
  readonly list: VerifyFinding[] = [];
  count = 0;

  add(kind: FindingKind, chain: string | null, change_set_id: string | null, message: string): void {
    this.count++;
    if (this.list.length < MAX_FINDINGS) this.list.push({ kind, chain, change_set_id, message });
  }
}

interface Scan {
  seen: Set<string>;
  entries: number;
  firstBreak: ChainBreak | null;
  /** The system chain's entries (principals and tokens are checked against them). */
  system: AuditEntry[];
}

/** Every chain recomputed, and each change-set's state checked in batches as its chain is read. */
async function scanChains(db: Queryable, heads: ReadonlyMap<string, RecordedHead>, findings: Findings) {
  const scan: Scan = { seen: new Set(), entries: 0, firstBreak: null, system: [] };
  let batch: { chain: string; entries: AuditEntry[] }[] = [];
  let batched = 0;
  const add = async (chain: string, entries: AuditEntry[]) => {
    batch.push({ chain, entries });
    batched += entries.length;
    if (batch.length < BATCH_CHAINS && batched < PAGE) return;
    await checkState(db, batch, heads, findings);
    batch = [];
    batched = 0;
  };
  for await (const chain of chains(db)) {
    const name = defined(chain[0], 'first entry of a chain').chain;
    scan.seen.add(name);
    scan.entries += chain.length;
    scan.firstBreak ??= verifyChain(chain, heads.get(name) ?? { hash: '', count: -1 });
    if (name === SYSTEM_CHAIN) scan.system = chain;
    if (heads.get(name)?.change_set_id) await add(name, chain);
  }
  for (const [chain, head] of heads) {
    if (scan.seen.has(chain)) continue;
    // A chain whose head says it has entries but none are left was emptied behind our back.
    if (head.count > 0) {
      scan.firstBreak ??= {
        chain,
        seq: null,
        chain_seq: 1,
        reason: `chain should have ${head.count} entries, found none`,
      };
    }
    if (head.change_set_id) await add(chain, []);
  }
  if (batch.length > 0) await checkState(db, batch, heads, findings);
  return scan;
}

export async function verifyAudit(
  db: Queryable,
  signer: AuditSigner | null = null,
  options: { unsignedIsFinding?: boolean } = {},
): Promise<VerifyResult> {
  const heads = await loadChainHeads(db);
  const findings = new Findings();
  const scan = await scanChains(db, heads, findings);
  const signatures = checkSignatures(heads, signer, findings, options.unsignedIsFinding ?? true);
  await checkResources(db, findings);
  await checkIdentities(db, scan.system, findings);
  return {
    ok: scan.firstBreak === null && findings.count === 0,
    chains: scan.seen.size,
    entries: scan.entries,
    first_break: scan.firstBreak && (await named(db, scan.firstBreak)),
    signatures,
    findings: findings.list,
    findings_count: findings.count,
  };
}

function checkSignatures(
  heads: ReadonlyMap<string, RecordedHead>,
  signer: AuditSigner | null,
  findings: Findings,
  unsignedIsFinding: boolean,
): VerifyResult['signatures'] {
  const counts = { checked: signer !== null, key_id: signer?.keyId ?? null, signed: 0, unsigned: 0, invalid: 0 };
  for (const [chain, head] of heads) {
    if (chain === SYSTEM_CHAIN && head.count === 0 && head.sig === null) continue;
    if (!signer) {
      counts[head.sig === null ? 'unsigned' : 'signed']++;
      continue;
    }
    const check = signer.check(chain, head);
    if (check === 'valid') counts.signed++;
    else if (check === 'missing') {
      counts.unsigned++;
      if (unsignedIsFinding)
        findings.add('unsigned_head', chain, head.change_set_id, `the chain head (entry ${head.count}) is not signed`);
    } else {
      counts.invalid++;
      const message =
        check === 'other_key'
          ? `the chain head (entry ${head.count}) is signed by another key than this one (${signer.keyId})`
          : `the signature of the chain head (entry ${head.count}) does not match it`;
      findings.add('bad_signature', chain, head.change_set_id, message);
    }
  }
  return counts;
}

const approvalKey = (a: ApprovalState | ReplayedApproval) =>
  [a.approver_id, a.decision, a.content_hash, a.stale, a.decided_at].join('\u0000');
const describeApproval = (a: ApprovalState | ReplayedApproval) =>
  `${a.approver_id} (${a.decision}${a.stale ? ', stale' : ''}, ${a.decided_at})`;
const versionKey = (type: string, id: string, version: number) => `${type}/${id} version ${version}`;

/** Each change-set's status, approvals and resource versions against what its entries replay to. */
async function checkState(
  db: Queryable,
  batch: readonly { chain: string; entries: AuditEntry[] }[],
  heads: ReadonlyMap<string, RecordedHead>,
  findings: Findings,
): Promise<void> {
  const ids = batch.map((b) => b.chain);
  const approvals = await loadApprovalStates(db, ids);
  const history = await loadHistoryStates(db, ids);
  for (const { chain, entries } of batch) {
    const head = defined(heads.get(chain), `head of chain ${chain}`);
    const add = (kind: FindingKind, message: string) => findings.add(kind, chain, head.change_set_id, message);
    const replayed = replayChangeSet(entries);
    for (const problem of replayed.problems) add('lifecycle', problem.message);
    if (replayed.status !== head.status) {
      add('status', `status ${head.status} is not what its audit entries lead to (${replayed.status ?? 'no entries'})`);
    }
    compareApprovals(approvals.get(chain) ?? [], replayed.approvals, add);
    if (replayed.written) compareVersions(history.get(chain) ?? [], replayed.written, add);
  }
}

function compareApprovals(
  rows: readonly ApprovalState[],
  replayed: readonly ReplayedApproval[],
  add: (kind: FindingKind, message: string) => void,
): void {
  const expected = new Map<string, number>();
  for (const a of replayed) expected.set(approvalKey(a), (expected.get(approvalKey(a)) ?? 0) + 1);
  for (const row of rows) {
    const left = expected.get(approvalKey(row)) ?? 0;
    if (left > 0) expected.set(approvalKey(row), left - 1);
    else add('approval', `approval by ${describeApproval(row)} has no audit entry`);
  }
  for (const a of replayed) {
    const left = expected.get(approvalKey(a)) ?? 0;
    if (left === 0) continue;
    expected.set(approvalKey(a), left - 1);
    add('approval', `the audit entries record a decision by ${describeApproval(a)} that has no approval row`);
  }
}

function compareVersions(
  rows: readonly HistoryState[],
  written: readonly (readonly [string, string, number, string])[],
  add: (kind: FindingKind, message: string) => void,
): void {
  const expected = new Map(written.map(([type, id, version, digest]) => [versionKey(type, id, version), digest]));
  for (const row of rows) {
    const key = versionKey(row.target_type, row.target_id, row.version);
    const digest = expected.get(key);
    expected.delete(key);
    if (digest === undefined) add('resource_version', `${key} was not written by an audited apply or rollback`);
    else if (digest !== stateDigest(row.present, row.state)) {
      add('resource_version', `${key} differs from what the audited apply or rollback wrote`);
    }
  }
  for (const key of expected.keys()) {
    add('resource_version', `${key}, written by an audited apply or rollback, is missing from resource_history`);
  }
}

/** Resource rows no change-set accounts for: versions of unknown change-sets, current states off their history. */
async function checkResources(db: Queryable, findings: Findings): Promise<void> {
  for (const row of await orphanHistory(db, MAX_FINDINGS)) {
    findings.add(
      'resource_version',
      null,
      null,
      `${versionKey(row.target_type, row.target_id, row.version)} names change-set ${row.change_set}, which does not exist`,
    );
  }
  for (const row of await resourcesOffHistory(db, MAX_FINDINGS)) {
    const target = `${row.target_type}/${row.target_id}`;
    findings.add(
      'resource',
      null,
      null,
      row.recorded
        ? `resource ${target} differs from its version ${row.version} in resource_history`
        : `resource ${target} is at version ${row.version}, which resource_history does not record`,
    );
  }
}

const listed = (groups: readonly string[]) => `[${[...groups].sort().join(', ')}]`;

/** Principals and tokens against the system chain: who may do what, and with which tokens. */
async function checkIdentities(db: Queryable, system: readonly AuditEntry[], findings: Findings): Promise<void> {
  const replayed = replaySystem(system);
  const { principals, tokens } = await loadIdentityStates(db);
  const add = (kind: FindingKind, message: string) => findings.add(kind, SYSTEM_CHAIN, null, message);
  for (const row of principals) {
    const expected = replayed.principals.get(row.id);
    replayed.principals.delete(row.id);
    if (!expected) add('principal', `principal ${row.id} has no audit entry`);
    else if (row.kind !== expected.kind) {
      add('principal', `principal ${row.id} is of kind ${row.kind}, its audit entries give ${expected.kind}`);
    } else if (listed(row.groups) !== listed(expected.groups)) {
      add(
        'principal',
        `principal ${row.id} has groups ${listed(row.groups)}, its audit entries give ${listed(expected.groups)}`,
      );
    } else if (row.active !== expected.active) {
      add(
        'principal',
        `principal ${row.id} is ${row.active ? 'active' : 'inactive'}, its audit entries say ${expected.active ? 'active' : 'inactive'}`,
      );
    }
  }
  for (const id of replayed.principals.keys())
    add('principal', `principal ${id}, created in the audit entries, does not exist`);
  for (const row of tokens) {
    const expected = replayed.tokens.get(row.id);
    replayed.tokens.delete(row.id);
    if (!expected) add('token', `token ${row.id} of principal ${row.principal_id} has no audit entry`);
    else if (row.principal_id !== expected.principal_id) {
      add(
        'token',
        `token ${row.id} belongs to ${row.principal_id}, its audit entries issued it to ${expected.principal_id}`,
      );
    } else if (expected.revoked && !row.revoked) {
      add(
        'token',
        `token ${row.id} of principal ${row.principal_id} is revoked in its audit entries, not in the tokens table`,
      );
    }
  }
  for (const id of replayed.tokens.keys()) add('token', `token ${id}, issued in the audit entries, does not exist`);
}

/**
 * Signs the heads written without a key (before an upgrade, or by the library without one): trust
 * on first use, so only when verify finds nothing else wrong, and only heads still as verified.
 */
export async function adoptUnsignedHeads(
  db: Queryable,
  signer: AuditSigner,
): Promise<{ adopted: number; result: VerifyResult }> {
  const result = await verifyAudit(db, signer, { unsignedIsFinding: false });
  if (!result.ok) {
    throw new LedgerError(
      'CONFLICT',
      `verify finds ${result.first_break ? 'a broken chain' : plural(result.findings_count, 'finding')} besides unsigned heads: ` +
        'signing would vouch for them; run audit verify',
    );
  }
  let adopted = 0;
  for (const [chain, head] of await loadChainHeads(db)) {
    if (head.sig !== null || head.count === 0) continue;
    if (await signHead(db, chain, head, signer.sign(chain, head))) adopted++;
  }
  return { adopted, result };
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

async function named(db: Queryable, broken: ChainBreak): Promise<VerifyResult['first_break']> {
  if (broken.chain === SYSTEM_CHAIN) return { ...broken, change_set_id: null };
  const row = await findChangeSet(db, broken.chain);
  return { ...broken, change_set_id: row?.change_set_id ?? null };
}

export async function changeSetAudit(db: Queryable, reference: string): Promise<AuditEntry[]> {
  const row = found(await findChangeSet(db, reference), reference);
  return loadChangeSetAudit(db, row.id);
}
