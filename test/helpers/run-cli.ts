// Runs the command line in-process, capturing what it prints.
import { vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';

export interface Run {
  code: number;
  out: string;
  err: string;
}

export async function run(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void out.push(parts.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void err.push(parts.join(' ')));
  // A command that sets process.exitCode must not leak it into the next one (or into vitest).
  process.exitCode = undefined;
  try {
    const code = await runCli(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    process.exitCode = undefined;
    log.mockRestore();
    error.mockRestore();
  }
}
