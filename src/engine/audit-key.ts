// Where the audit signing key comes from: CHANGELEDGER_AUDIT_KEY, else the file named by
// `audit.signing_key_file`, else <data dir>/audit-signing-key.pem, which `serve` creates (mode 0600)
// on its first start. Never from the database: whoever can write the database must not hold it.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditSigner } from './audit-signer.js';

export const AUDIT_KEY_FILE = 'audit-signing-key.pem';

export interface AuditKey {
  signer: AuditSigner;
  source: 'environment' | 'file';
  /** The key file, when the key is kept in one. */
  path: string | null;
  created: boolean;
}

export interface AuditKeyOptions {
  /** CHANGELEDGER_AUDIT_KEY: a PKCS#8 PEM, or its base64 body on one line. */
  envKey: string | null;
  /** `audit.signing_key_file`: must exist when given. */
  keyFile: string | null;
  dataDir: string;
  /** Create the data directory's key file when there is none (serve); otherwise go without. */
  create: boolean;
}

/** An Ed25519 private key from PEM text or the base64 of its PKCS#8 DER. */
export function parseAuditKey(text: string, where: string): AuditSigner {
  let key: KeyObject;
  try {
    const trimmed = text.trim();
    key = trimmed.startsWith('-----BEGIN')
      ? createPrivateKey(trimmed)
      : createPrivateKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new Error(`${where}: not a PKCS#8 private key (${(error as Error).message})`, { cause: error });
  }
  try {
    return new AuditSigner(key);
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`, { cause: error });
  }
}

function readKeyFile(path: string): AuditSigner {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`audit signing key file ${path}: ${code === 'ENOENT' ? 'file not found' : code}`, {
      cause: error,
    });
  }
  return parseAuditKey(text, `audit signing key file ${path}`);
}

/** Writes a new key unless another instance sharing the directory just did (then reads that one). */
function createKeyFile(path: string, dataDir: string): { signer: AuditSigner; created: boolean } {
  const { privateKey } = generateKeyPairSync('ed25519');
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { signer: readKeyFile(path), created: false };
  }
  return { signer: new AuditSigner(privateKey), created: true };
}

/** The audit signing key, or null when there is none and `create` is off. */
export function loadAuditKey(options: AuditKeyOptions): AuditKey | null {
  if (options.envKey) {
    const signer = parseAuditKey(options.envKey, 'environment variable CHANGELEDGER_AUDIT_KEY');
    return { signer, source: 'environment', path: null, created: false };
  }
  if (options.keyFile)
    return { signer: readKeyFile(options.keyFile), source: 'file', path: options.keyFile, created: false };
  const path = join(options.dataDir, AUDIT_KEY_FILE);
  if (existsSync(path)) return { signer: readKeyFile(path), source: 'file', path, created: false };
  if (!options.create) return null;
  return { ...createKeyFile(path, options.dataDir), source: 'file', path };
}
