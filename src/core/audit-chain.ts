// Tamper evidence: each audit entry's hash covers the previous entry's hash and its own content,
// so altering, reordering or removing an entry breaks every hash after it.
import { canonicalJson, sha256Hex } from './canonical-json.js';
import type { Json } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);
export const SYSTEM_CHAIN = 'system';
/** The actor of what no principal did: the deadline scheduler, the operator at the command line. */
export const SYSTEM_ACTOR = 'system';

export interface AuditContent {
  /** `system`, or the internal id of the change-set whose chain this entry extends. */
  chain: string;
  /** Position in its chain, from 1. */
  chain_seq: number;
  at: string;
  actor: string;
  action: string;
  change_set: string | null;
  data: Json;
}

export interface AuditEntry extends AuditContent {
  seq: number;
  prev_hash: string;
  hash: string;
}

export function hashEntry(prevHash: string, content: AuditContent): string {
  const { chain, chain_seq, at, actor, action, change_set, data } = content;
  return sha256Hex(prevHash + canonicalJson({ chain, chain_seq, at, actor, action, change_set, data }));
}

export interface ChainBreak {
  chain: string;
  seq: number | null;
  chain_seq: number;
  reason: string;
}

/**
 * Recomputes one chain (entries in chain order) and returns the first entry that does not match,
 * or null. `head`, when known, is the hash the chain is recorded to end with: it catches removal
 * of the newest entries.
 */
export function verifyChain(entries: readonly AuditEntry[], head?: { hash: string; count: number }): ChainBreak | null {
  let prev = GENESIS_HASH;
  for (const [index, entry] of entries.entries()) {
    const at = { chain: entry.chain, seq: entry.seq, chain_seq: entry.chain_seq };
    if (entry.chain_seq !== index + 1) return { ...at, reason: `expected chain position ${index + 1}` };
    if (entry.prev_hash !== prev) return { ...at, reason: 'prev_hash does not match the previous entry' };
    if (hashEntry(prev, entry) !== entry.hash) return { ...at, reason: 'content does not match its hash' };
    prev = entry.hash;
  }
  if (head && (head.count !== entries.length || head.hash !== prev)) {
    const chain = entries[0]?.chain ?? 'unknown';
    return {
      chain,
      seq: null,
      chain_seq: entries.length,
      reason: `chain should end at entry ${head.count} with the recorded head hash`,
    };
  }
  return null;
}

/**
 * What a chain head's signature signs: the chain, its length and its last hash, so that a
 * signature can be moved neither to another chain nor to another length of the same chain.
 */
export function headMessage(chain: string, head: { hash: string; count: number }): string {
  return `changeledger audit head\n${chain}\n${head.count}\n${head.hash}`;
}
