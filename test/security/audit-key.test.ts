// Where the audit signing key comes from (docs/configuration.md, docs/security.md): the data
// directory's file, created once by `serve` with mode 0600; a named file; or the environment.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { AUDIT_KEY_FILE, loadAuditKey } from '../../src/engine/audit-key.js';
import { startServer } from '../../src/server.js';
import { openPgliteDb } from '../../src/store/pglite-db.js';
import { run } from '../helpers/run-cli.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'changeledger-key-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const pem = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const none = { envKey: null, keyFile: null };

describe('loadAuditKey', () => {
  it('creates the data directory key once, mode 0600, and reads it back afterwards', () => {
    const dataDir = join(tempDir(), 'data');
    const first = loadAuditKey({ ...none, dataDir, create: true })!;
    const path = join(dataDir, AUDIT_KEY_FILE);
    expect(first).toMatchObject({ source: 'file', path, created: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = loadAuditKey({ ...none, dataDir, create: true })!;
    expect(again).toMatchObject({ created: false, path });
    expect(again.signer.keyId).toBe(first.signer.keyId);
    expect(again.signer.keyId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('goes without a key when there is none and it may not create one', () => {
    expect(loadAuditKey({ ...none, dataDir: tempDir(), create: false })).toBeNull();
  });

  it('takes the environment first, as PEM or as its base64 body', () => {
    const key = pem();
    const keyFile = join(tempDir(), 'other.pem');
    writeFileSync(keyFile, pem());
    const fromPem = loadAuditKey({ envKey: key, keyFile, dataDir: tempDir(), create: true })!;
    const body = key.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
    const fromBody = loadAuditKey({ envKey: body, keyFile: null, dataDir: tempDir(), create: true })!;
    expect(fromPem).toMatchObject({ source: 'environment', path: null });
    expect(fromBody.signer.keyId).toBe(fromPem.signer.keyId);
    const fromFile = loadAuditKey({ envKey: null, keyFile, dataDir: tempDir(), create: true })!;
    expect(fromFile).toMatchObject({ source: 'file', path: keyFile, created: false });
    expect(fromFile.signer.keyId).not.toBe(fromPem.signer.keyId);
  });

  it('refuses a named file that is missing, a key that is not Ed25519, and text that is no key', () => {
    const dataDir = tempDir();
    const missing = join(dataDir, 'nope.pem');
    expect(() => loadAuditKey({ envKey: null, keyFile: missing, dataDir, create: true })).toThrow(
      `audit signing key file ${missing}: file not found`,
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    expect(() => loadAuditKey({ envKey: rsa.toString(), keyFile: null, dataDir, create: true })).toThrow(
      'environment variable CHANGELEDGER_AUDIT_KEY: the audit signing key must be an Ed25519 private key, not a rsa private key',
    );
    expect(() => loadAuditKey({ envKey: 'not a key', keyFile: null, dataDir, create: true })).toThrow(
      /^environment variable CHANGELEDGER_AUDIT_KEY: not a PKCS#8 private key/,
    );
  });
});

describe('configuration', () => {
  it('reads audit.signing_key_file, CHANGELEDGER_AUDIT_KEY_FILE over it, and the key itself from the environment only', () => {
    expect(parseConfig('', { env: {} })).toMatchObject({ audit: { signing_key_file: null }, audit_key: null });
    const file = 'audit:\n  signing_key_file: /etc/changeledger/audit.pem\n';
    expect(parseConfig(file, { env: {} }).audit.signing_key_file).toBe('/etc/changeledger/audit.pem');
    const env = { CHANGELEDGER_AUDIT_KEY_FILE: '/run/secrets/audit.pem', CHANGELEDGER_AUDIT_KEY: 'k' };
    expect(parseConfig(file, { env })).toMatchObject({
      audit: { signing_key_file: '/run/secrets/audit.pem' },
      audit_key: 'k',
    });
    expect(() => parseConfig('audit:\n  signing_key: abc\n', { env: {} })).toThrow(
      /at audit\.signing_key: unknown key/,
    );
  });
});

describe('changeledger serve', () => {
  it('creates the key on its first start, signs with it, and keeps it across restarts', async () => {
    const dataDir = tempDir();
    const config = parseConfig(`database:\n  data_dir: ${JSON.stringify(dataDir)}\n`, { env: {} });
    const start = () =>
      startServer({ ...config, server: { ...config.server, port: 0, drain_ms: 0 }, log_level: 'silent' });
    const first = await start();
    let keyId: string;
    try {
      expect(first.auditKey).toMatchObject({ created: true, path: join(dataDir, AUDIT_KEY_FILE) });
      keyId = first.auditKey.signer.keyId;
      const result = await first.engine.verifyAudit();
      expect(result).toMatchObject({ ok: true, findings: [] });
      expect(result.signatures).toEqual({ checked: true, key_id: keyId, signed: 1, unsigned: 0, invalid: 0 });
    } finally {
      await first.stop();
    }
    const pemText = readFileSync(join(dataDir, AUDIT_KEY_FILE), 'utf8');
    const second = await start();
    try {
      expect(second.auditKey).toMatchObject({ created: false });
      expect(second.auditKey.signer.keyId).toBe(keyId);
      expect(readFileSync(join(dataDir, AUDIT_KEY_FILE), 'utf8')).toBe(pemText);
      expect((await second.engine.verifyAudit()).ok).toBe(true);
    } finally {
      await second.stop();
    }

    // `changeledger audit verify` reads the same key from the data directory.
    const file = join(dataDir, 'changeledger.yaml');
    writeFileSync(file, `database:\n  data_dir: ${JSON.stringify(dataDir)}\n`);
    const intact = await run(['--config', file, 'audit', 'verify']);
    expect(intact.code).toBe(0);
    expect(intact.out).toMatch(/^audit trail intact: \d+ entries in 1 chains\n/);
    expect(intact.out).toContain(`chain heads: 1 signed with key ${keyId}, 0 unsigned, 0 with a bad signature`);
    const db = await openPgliteDb({ dataDir: join(dataDir, 'db') });
    try {
      await db.query("UPDATE audit_heads SET sig = NULL WHERE chain = 'system'");
    } finally {
      await db.close();
    }
    const broken = await run(['--config', file, 'audit', 'verify']);
    expect(broken.code).toBe(3);
    expect(broken.out).toContain('AUDIT TRAIL BROKEN');
    expect(broken.out).toMatch(/\nunsigned_head: system: the chain head \(entry \d+\) is not signed$/);
    // Four opens of the embedded database (two starts, two verifies): slow on a loaded machine.
  }, 240_000);
});
