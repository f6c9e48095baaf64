// Audit trail reads and verification: every chain recomputed, the first break reported.
import { type AuditEntry, type ChainBreak, verifyChain } from '../core/audit-chain.js';
import { loadAuditPage, loadChainHeads, loadChangeSetAudit } from '../store/audit.js';
import { findChangeSet } from '../store/change-sets.js';
import type { Queryable } from '../store/db.js';
import { found } from './context.js';

export interface VerifyResult {
  ok: boolean;
  chains: number;
  entries: number;
  /** The first entry that does not match, if any. */
  first_break: (ChainBreak & { change_set_id?: string | null }) | null;
}

const PAGE = 5_000;

async function* chains(db: Queryable): AsyncGenerator<AuditEntry[]> {
  let current: AuditEntry[] = [];
  let after: { chain: string; chain_seq: number } | null = null;
  for (;;) {
    const page = await loadAuditPage(db, after, PAGE);
    for (const entry of page) {
      if (current.length > 0 && current[0]!.chain !== entry.chain) {
        yield current;
        current = [];
      }
      current.push(entry);
    }
    if (page.length < PAGE) break;
    after = page.at(-1)!;
  }
  if (current.length > 0) yield current;
}

export async function verifyAudit(db: Queryable): Promise<VerifyResult> {
  const heads = await loadChainHeads(db);
  const seen = new Set<string>();
  let entries = 0;
  for await (const chain of chains(db)) {
    const name = chain[0]!.chain;
    seen.add(name);
    entries += chain.length;
    const broken = verifyChain(chain, heads.get(name) ?? { hash: '', count: -1 });
    if (broken) return { ok: false, chains: seen.size, entries, first_break: await named(db, broken) };
  }
  // A chain whose head says it has entries but none are left was emptied behind our back.
  for (const [chain, head] of heads) {
    if (!seen.has(chain) && head.count > 0) {
      const broken = { chain, seq: null, chain_seq: 1, reason: `chain should have ${head.count} entries, found none` };
      return { ok: false, chains: seen.size, entries, first_break: await named(db, broken) };
    }
  }
  return { ok: true, chains: seen.size, entries, first_break: null };
}

async function named(db: Queryable, broken: ChainBreak): Promise<VerifyResult['first_break']> {
  if (broken.chain === 'system') return { ...broken, change_set_id: null };
  const row = await findChangeSet(db, broken.chain);
  return { ...broken, change_set_id: row?.change_set_id ?? null };
}

export async function changeSetAudit(db: Queryable, reference: string): Promise<AuditEntry[]> {
  const row = found(await findChangeSet(db, reference), reference);
  return loadChangeSetAudit(db, row.id);
}
