// docs/policies.md as test data: every ```yaml block, and the engine configuration of the blocks
// that define given policies, loaded through the real configuration loader.
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { type Config, engineConfigOf, parseConfig } from '../../src/config.js';
import type { EngineConfig } from '../../src/engine/engine-config.js';

export const POLICIES_DOC = new URL('../../docs/policies.md', import.meta.url);

/** The text of every ```yaml block of docs/policies.md, in order. */
export const YAML_BLOCKS: readonly string[] = [
  ...readFileSync(POLICIES_DOC, 'utf8').matchAll(/^```yaml\n([\s\S]*?)^```$/gm),
].map((match) => match[1]!);

/** The configuration a YAML text gives, without the test process's environment. */
export const configOf = (yamlText: string): Config => parseConfig(yamlText, { env: {}, source: 'docs/policies.md' });

const namesIn = (block: string): string[] =>
  ((parse(block) as { policies?: { name: string }[] }).policies ?? []).map((policy) => policy.name);

/** The one block of the page that defines the policy. */
export function blockDefining(name: string): string {
  const blocks = YAML_BLOCKS.filter((block) => namesIn(block).includes(name));
  if (blocks.length !== 1) throw new Error(`docs/policies.md has ${blocks.length} yaml blocks defining ${name}`);
  return blocks[0]!;
}

/**
 * The engine configuration of the blocks defining the named policies (each block whole), plus
 * any `extra` policies, parsed and compiled as the server would.
 */
export function cookbookEngineConfig(names: readonly string[], extra: readonly object[] = []): EngineConfig {
  const blocks = [...new Set(names.map(blockDefining))];
  if (blocks.length === 1 && extra.length === 0) return engineConfigOf(configOf(blocks[0]!));
  const policies = [...blocks.flatMap((block) => (parse(block) as { policies: object[] }).policies), ...extra];
  return engineConfigOf(configOf(stringify({ policies })));
}

/** One policy of the page, as written there. */
export function cookbookPolicy(name: string): Record<string, unknown> {
  const { policies } = parse(blockDefining(name)) as { policies: Record<string, unknown>[] };
  return policies.find((policy) => policy.name === name)!;
}
