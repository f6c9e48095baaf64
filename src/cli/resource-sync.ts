// `changeledger resource sync`: keeps a directory of JSON or YAML files (or a command) in step with
// the approved state of the resources under a prefix, by following GET /resources/watch. The ledger
// version reached is kept in a state file after each commit, so a restarted sync resumes where it
// stopped; a commit half-done when it stopped is done again (each write sets a whole file, so
// doing it twice changes nothing).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { isRefusal, type LedgerClient } from '../client/index.js';
import type { ResourceChange } from '../core/item-record.js';

export interface SyncOptions {
  client: LedgerClient;
  prefix?: string | undefined;
  targetType?: string | undefined;
  /** Keep files here: `<dir>/<target_type>/<target_id>.<format>`. */
  dir?: string | undefined;
  /** Or run this shell command once per write (the state on stdin, the rest in CHANGELEDGER_* variables). */
  exec?: string | undefined;
  format: 'json' | 'yaml';
  /** Where the ledger version reached is kept (default `<dir>/.changeledger-sync.json`). */
  stateFile: string;
  /** Stop once caught up, instead of following. */
  once: boolean;
  signal: AbortSignal;
  log(line: string): void;
}

/** A file or directory name for any target type or id: URI-encoded, or its hash when that would be too long. */
export function safeName(id: string): string {
  const encoded = encodeURIComponent(id).replace(/^\.\.?$/, (dots) => dots.replace(/\./g, '%2E'));
  return encoded.length <= 200 ? encoded : `sha256-${createHash('sha256').update(id).digest('hex')}`;
}

/** Where a target's file is kept: `<dir>/<target_type>/<target_id>.<format>`. */
export const filePathOf = (dir: string, target_type: string, target_id: string, format: string): string =>
  join(dir, safeName(target_type), `${safeName(target_id)}.${format}`);

async function readPosition(stateFile: string): Promise<number> {
  try {
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { ledger_version?: unknown };
    if (typeof saved.ledger_version === 'number' && Number.isSafeInteger(saved.ledger_version))
      return saved.ledger_version;
    throw new Error(`${stateFile} holds no ledger_version: delete it to sync from the beginning`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

function runCommand(command: string, change: ResourceChange): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, {
      shell: true,
      stdio: ['pipe', 'inherit', 'inherit'],
      env: {
        ...process.env,
        CHANGELEDGER_TARGET_TYPE: change.target_type,
        CHANGELEDGER_TARGET_ID: change.target_id,
        CHANGELEDGER_VERSION: String(change.version),
        CHANGELEDGER_PRESENT: String(change.present),
        CHANGELEDGER_OPERATION: change.operation,
        CHANGELEDGER_CHANGE_SET: change.change_set.change_set_id,
        CHANGELEDGER_LEDGER_VERSION: String(change.ledger_version),
      },
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `--exec exited with ${code} for ${change.target_type}/${change.target_id} version ${change.version}`,
            ),
          ),
    );
    child.stdin.end(change.present ? `${JSON.stringify(change.state)}\n` : '');
  });
}

async function applyChange(options: SyncOptions, change: ResourceChange): Promise<void> {
  if (options.exec !== undefined) return runCommand(options.exec, change);
  const path = filePathOf(options.dir ?? '.', change.target_type, change.target_id, options.format);
  if (!change.present) return rm(path, { force: true });
  const text = options.format === 'yaml' ? stringify(change.state) : `${JSON.stringify(change.state, null, 2)}\n`;
  return writeAtomically(path, text);
}

/** Follows the watch until caught up (`once`) or aborted; reconnects, with back-off, when the stream drops. */
export async function syncResources(options: SyncOptions): Promise<{ ledgerVersion: number; writes: number }> {
  let position = await readPosition(options.stateFile);
  let writes = 0;
  let failures = 0;
  while (!options.signal.aborted) {
    const query = {
      since_version: String(position),
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.targetType ? { target_type: options.targetType } : {}),
    };
    try {
      for await (const message of options.client.watchResources(query, options.signal)) {
        failures = 0;
        if (message.event === 'resource.changed') {
          await applyChange(options, JSON.parse(message.data) as ResourceChange);
          writes++;
        }
        const reached = message.id === null ? position : Number(message.id);
        if (reached > position) {
          position = reached;
          await writeAtomically(options.stateFile, `${JSON.stringify({ ledger_version: position })}\n`);
        }
        if (message.event === 'ready') {
          options.log(`caught up at ledger version ${position} (${writes} writes)`);
          if (options.once) return { ledgerVersion: position, writes };
        }
      }
    } catch (error) {
      // A server going away or too busy is waited out; a refusal or a failed write will not go away
      // by itself: stop, and say why.
      const transient =
        (isRefusal(error) && (error.status === 503 || error.status === 429)) ||
        (error instanceof Error && /^cannot reach|terminated|ECONNRESET|other side closed/.test(error.message));
      if (!transient) throw error;
      if (options.once) throw error;
      options.log(`${error.message}; reconnecting`);
    }
    if (options.signal.aborted) break;
    failures++;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, delay);
      options.signal.addEventListener('abort', done, { once: true });
    });
  }
  return { ledgerVersion: position, writes };
}
