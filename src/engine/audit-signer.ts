// Signed chain heads: each head an action writes is signed with an Ed25519 key kept outside the
// database, so that someone who can write the database (a superuser) cannot rewrite entries and
// recompute the hashes unnoticed: they can recompute a hash, not a signature.
//
// A head is signed only when the head it extends is genuine (signed with this key) or the chain is
// new. Otherwise signing would bless whatever the database holds: rewrite a chain, let the next
// action extend it, and its head would carry a good signature. An extended forged head stays
// unsigned, and verify reports it.
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { headMessage } from '../core/audit-chain.js';

export interface SignedHead {
  hash: string;
  count: number;
  sig: string | null;
}

export type SignatureCheck = 'valid' | 'missing' | 'invalid' | 'other_key';

const PREFIX = 'ed25519';

export class AuditSigner {
  /** The first 16 hex digits of the SHA-256 of the public key (SPKI DER), stored with each signature. */
  readonly keyId: string;
  private readonly publicKey: KeyObject;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') {
      throw new TypeError(`the audit signing key must be an Ed25519 private key, not ${describe(privateKey)}`);
    }
    this.publicKey = createPublicKey(privateKey);
    const der = this.publicKey.export({ format: 'der', type: 'spki' });
    this.keyId = createHash('sha256').update(der).digest('hex').slice(0, 16);
  }

  /** The public key, PEM (SPKI), for whoever keeps a copy to check signatures with. */
  publicKeyPem(): string {
    return this.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  }

  sign(chain: string, head: { hash: string; count: number }): string {
    const signature = sign(null, Buffer.from(headMessage(chain, head)), this.privateKey);
    return `${PREFIX}:${this.keyId}:${signature.toString('base64')}`;
  }

  check(chain: string, head: SignedHead): SignatureCheck {
    if (head.sig === null) return 'missing';
    const [scheme, keyId, signature, ...rest] = head.sig.split(':');
    if (scheme !== PREFIX || signature === undefined || rest.length > 0) return 'invalid';
    if (keyId !== this.keyId) return 'other_key';
    const good = verify(null, Buffer.from(headMessage(chain, head)), this.publicKey, Buffer.from(signature, 'base64'));
    return good ? 'valid' : 'invalid';
  }

  /** The signature of `next`, which extends `previous`; null when `previous` is not genuine. */
  extend(chain: string, previous: SignedHead, next: { hash: string; count: number }): string | null {
    if (previous.count > 0 && this.check(chain, previous) !== 'valid') return null;
    return this.sign(chain, next);
  }
}

/** The key id a stored signature names, if it has the expected shape. */
export function signatureKeyId(sig: string | null): string | null {
  const parts = sig?.split(':') ?? [];
  return parts.length === 3 && parts[0] === PREFIX ? (parts[1] ?? null) : null;
}

function describe(key: KeyObject): string {
  return `a ${key.asymmetricKeyType ?? 'symmetric'} ${key.type} key`;
}
