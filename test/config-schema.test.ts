// The configuration is declared once (config-schema.ts with core's risk and notify's sections):
// the defaults docs/configuration.md shows in its tables are the schema's, and every key of the
// schema is documented there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_CONFIG } from '../src/config.js';
import { DEFAULTS, FileSchema } from '../src/config-schema.js';
import { defaultsOf } from '../src/core/config-kit.js';
import { DEFAULT_RISK_CONFIG, RiskSchema, RiskSection } from '../src/core/risk.js';
import { DEFAULT_LIMITS } from '../src/core/validate-change-set.js';
import { DEFAULT_DISPATCHER } from '../src/notify/notify-config.js';

const markdown = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');

/** `section.key` → the default cell of its row, from every options table of the document. */
function documentedDefaults(): Map<string, string> {
  const rows = new Map<string, string>();
  let section: string | null = null;
  for (const line of markdown.split('\n')) {
    const heading = /^### `([a-z_]+)`$/.exec(line);
    if (heading) section = heading[1]!;
    else if (line.startsWith('#')) section = null;
    const row = /^\| `([a-z_.]+)` +\| (.*?) +\|/.exec(line);
    if (section && row) rows.set(`${section}.${row[1]}`, row[2]!);
  }
  return rows;
}

/** What a default cell says, as a value: YAML in backticks, `a 1, b 2` pairs, `≤5 → 5` thresholds, or null for unset. */
function readCell(cell: string): unknown {
  if (/^(none|unset)\b/.test(cell) || /^`<[^`]*>[^`]*`$/.test(cell)) return null;
  const thresholds = [...cell.matchAll(/≤(\d+) → (\d+)/g)];
  if (thresholds.length > 0)
    return thresholds.map(([, max, score]) => ({ max_items: Number(max), score: Number(score) }));
  const token = /^`([^`]*)`/.exec(cell)?.[1];
  if (token === undefined) return undefined;
  const pairs = [...token.matchAll(/([a-z_]+) ([\d.]+)(?:,|$)/g)];
  if (pairs.length > 0 && pairs.map((p) => p[0]).join(' ') === token) {
    return Object.fromEntries(pairs.map(([, key, value]) => [key, Number(value)]));
  }
  return parseYaml(/^[^[{].*: /.test(token) ? `{${token}}` : token);
}

const at = (root: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], root);

const documented = documentedDefaults();
// Defaults written in words (they name a rule, not a value); the complete example still shows them.
const IN_WORDS = new Set(['risk.recommendations']);

describe('docs/configuration.md tables show the schema defaults', () => {
  const defaults = { ...DEFAULTS, risk: defaultsOf(RiskSection) };

  it('has tables for the sections', () => {
    expect(documented.size).toBeGreaterThanOrEqual(50);
  });

  it.each([...documented].filter(([path]) => !IN_WORDS.has(path)))('%s: %s', (path, cell) => {
    expect(readCell(cell)).toEqual(at(defaults, path));
  });

  it.each(['server', 'database', 'risk', 'approval', 'limits', 'auth', 'audit', 'oidc', 'mcp', 'trust'] as const)(
    'documents every key of %s',
    (section) => {
      const keys = Object.keys((FileSchema.properties[section] as { properties: object }).properties);
      const missing = keys.filter(
        (key) =>
          ![...documented.keys()].some((path) => path === `${section}.${key}` || path.startsWith(`${section}.${key}.`)),
      );
      expect(missing).toEqual([]);
    },
  );
});

describe('one declaration, every default', () => {
  it('the resolved configuration takes its defaults from the schema', () => {
    expect(DEFAULT_CONFIG.server).toEqual(DEFAULTS.server);
    expect(DEFAULT_CONFIG.limits).toEqual(DEFAULTS.limits);
    expect(DEFAULT_CONFIG.approval.deadline_hours).toEqual(DEFAULTS.approval.deadlines);
    expect(DEFAULT_CONFIG.notifications.dispatcher).toEqual(DEFAULT_DISPATCHER);
    expect(DEFAULT_RISK_CONFIG).toEqual(defaultsOf(RiskSchema));
    // Core's own fallback for callers without a configuration (core cannot import the schema).
    expect(DEFAULT_LIMITS.max_items).toBe(DEFAULTS.limits.max_items);
  });

  it('every key of a section has a default (null for an unset one)', () => {
    const undefinedLeaves: string[] = [];
    const walk = (schema: unknown, value: unknown, path: string) => {
      const properties = (schema as { properties?: Record<string, unknown> }).properties;
      if (properties === undefined || 'default' in (schema as object)) {
        if (value === undefined) undefinedLeaves.push(path);
        return;
      }
      for (const [key, child] of Object.entries(properties)) walk(child, at(value, key), `${path}.${key}`);
    };
    walk(FileSchema, DEFAULTS, '');
    walk(RiskSchema, DEFAULT_RISK_CONFIG, 'risk');
    expect(undefinedLeaves).toEqual([]);
  });
});
