// The layers of src/ and who may import whom (docs/architecture.md, "The boundary"), read from the
// import graph itself: every import and re-export of every module, static or dynamic.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

interface Edge {
  /** Importing module, relative to src/ (`http/app.ts`). */
  from: string;
  /** Imported module, relative to src/. */
  to: string;
  /** `import type` / `export type`, or every name imported is a type: nothing of it runs. */
  typeOnly: boolean;
}

/** The layer of a module: its first folder under src/, or `root` for src/*.ts (the composition root). */
const layerOf = (module: string): string => (module.includes('/') ? module.split('/')[0]! : 'root');

/** The facade: outside engine/ and store/, engine/ is imported only through this module. */
const FACADE = 'engine/index.ts';

/**
 * Whether `edge` is allowed. Inner to outer: core (pure domain) ← store (SQL) ← engine (actions,
 * behind its facade) ← http, cli (the edges); notify holds the outbox's readers (event feed,
 * router, dispatcher), store-side services beside the engine; root (server.ts, config*.ts,
 * index.ts) wires everything together; web is the dashboard, browser code that shares core/.
 */
function allowed({ from, to, typeOnly }: Edge): boolean {
  const source = layerOf(from);
  const target = layerOf(to);
  if (source === target || source === 'root') return true;
  switch (source) {
    case 'core':
      return false;
    case 'store':
      return target === 'core';
    case 'engine':
      // engine-config.ts takes the engine's defaults from the one configuration schema (declarations only).
      return (
        target === 'core' || target === 'store' || (from === 'engine/engine-config.ts' && to === 'config-schema.ts')
      );
    case 'notify':
      // The shape of a configuration problem (config-schema.ts), named in notify-config.ts's checks.
      return target === 'core' || target === 'store' || (typeOnly && to === 'config-schema.ts');
    case 'http':
      // mcp: /mcp mounts the MCP server, whose tools call the API back through the typed client.
      return target === 'core' || target === 'notify' || target === 'mcp' || to === FACADE;
    case 'cli':
      return (
        target === 'core' ||
        target === 'client' ||
        target === 'mcp' ||
        to === FACADE ||
        to === 'server.ts' ||
        to === 'config.ts'
      );
    case 'mcp':
      // The MCP server: tools over the typed client, never the engine (what an agent may do is what the API lets it).
      return target === 'core' || target === 'client';
    case 'client':
      // The typed client of the HTTP API: it speaks HTTP (or a fetch it is given), never to the server's code.
      return target === 'core';
    case 'web':
      return target === 'core';
    default:
      return false;
  }
}

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'migrations' ? [] : modules(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The specifier's module relative to src/ (`../store/db.js` → `store/db.ts`), or null for a package. */
function target(fromFile: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const path = relative(src, resolve(dirname(fromFile), specifier)).replace(/\\/g, '/');
  return path.replace(/\.js$/, '.ts').replace(/\.jsx$/, '.tsx');
}

function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const sourceFile = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TSX);
  const from = relative(src, file).replace(/\\/g, '/');
  const edges: Edge[] = [];
  const add = (specifier: ts.Node | undefined, typeOnly: boolean) => {
    if (!specifier || !ts.isStringLiteral(specifier)) return;
    const to = target(file, specifier.text);
    if (to !== null) edges.push({ from, to, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings : null;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (!clause.name && named !== null && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause : null;
      add(
        node.moduleSpecifier,
        node.isTypeOnly || (named !== null && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)),
      );
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return edges;
}

const files = modules(src);
const graph = files.flatMap(importsOf);
const describeEdge = (e: Edge) => `${e.from} → ${e.to}${e.typeOnly ? ' (type)' : ''}`;

describe('the boundary between layers', () => {
  it('reads a real graph: every layer is there, and the edges the rules are about', () => {
    expect(new Set(files.map((f) => layerOf(relative(src, f).replace(/\\/g, '/'))))).toEqual(
      new Set(['core', 'store', 'engine', 'notify', 'http', 'cli', 'client', 'mcp', 'web', 'root']),
    );
    const has = (from: string, to: string) => graph.some((e) => e.from === from && e.to === to);
    expect(has('http/app.ts', FACADE)).toBe(true);
    expect(has('engine/engine.ts', 'store/change-set-read.ts')).toBe(true);
    expect(has('web/lib/permissions.ts', 'core/lifecycle.ts')).toBe(true);
    expect(graph.filter((e) => e.typeOnly).length).toBeGreaterThan(20);
  });

  it('refuses what crosses a boundary, and knows a type-only import from a value import', () => {
    const refused = (from: string, to: string, typeOnly = false) => !allowed({ from, to, typeOnly });
    expect(refused('core/risk.ts', 'store/db.ts', true)).toBe(true);
    expect(refused('core/risk.ts', 'config.ts', true)).toBe(true);
    expect(refused('store/items.ts', 'engine/journal.ts', true)).toBe(true);
    expect(refused('engine/apply.ts', 'notify/router.ts')).toBe(true);
    expect(refused('engine/apply.ts', 'http/schemas.ts', true)).toBe(true);
    expect(refused('http/metrics.ts', 'store/change-set-list.ts')).toBe(true);
    expect(refused('http/app.ts', 'store/db.ts', true)).toBe(true);
    expect(refused('http/routes/ledger.ts', 'engine/principals.ts')).toBe(true);
    expect(refused('http/app.ts', 'engine/engine.ts', true)).toBe(true);
    expect(refused('cli/client-commands.ts', 'store/resources.ts', true)).toBe(true);
    expect(refused('cli/client-commands.ts', 'http/schemas.ts', true)).toBe(true);
    expect(refused('notify/router.ts', 'engine/journal.ts')).toBe(true);
    expect(refused('notify/router.ts', FACADE)).toBe(true);
    expect(refused('notify/notify-config.ts', 'config-schema.ts', false)).toBe(true);
    expect(refused('web/lib/api.ts', 'http/schemas.ts', true)).toBe(true);
    expect(refused('client/index.ts', 'http/app.ts', true)).toBe(true);
    expect(refused('client/index.ts', FACADE, true)).toBe(true);
    expect(refused('cli/client-commands.ts', 'client/index.ts')).toBe(false);
    expect(refused('mcp/tools.ts', FACADE, true)).toBe(true);
    expect(refused('mcp/tools.ts', 'http/app.ts', true)).toBe(true);
    expect(refused('mcp/tools.ts', 'client/index.ts')).toBe(false);
    expect(refused('http/mcp-route.ts', 'mcp/http-handler.ts')).toBe(false);
    expect(refused('http/app.ts', FACADE)).toBe(false);
    expect(refused('cli/server-commands.ts', 'server.ts')).toBe(false);
    expect(refused('notify/event-feed.ts', 'store/outbox.ts')).toBe(false);
    expect(refused('server.ts', 'store/pg-db.ts')).toBe(false);
  });

  it('every import in src/ keeps to the rules', () => {
    expect(graph.filter((edge) => !allowed(edge)).map(describeEdge)).toEqual([]);
  });

  it('http/, cli/ and notify/ do not reach around the facade through engine.ctx or engine.db', () => {
    const reaching = files
      .filter((f) => ['http', 'cli', 'notify'].includes(layerOf(relative(src, f).replace(/\\/g, '/'))))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ line, at: `${relative(src, f)}:${i + 1}` }))
          .filter(({ line }) => /\bengine\??\.(ctx|db)\b/.test(line))
          .map(({ at, line }) => `${at}: ${line.trim()}`),
      );
    expect(reaching).toEqual([]);
  });
});
