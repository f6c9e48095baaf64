// Text PostgreSQL cannot store never reaches it: NUL characters, lone UTF-16 surrogates and numbers
// JSON can spell but a double cannot hold (1e999) are refused at the edge, wherever they are —
// path, query or body, keys or values — with the path of the first one. An action route's absent
// body counts as {}.
//
// The depth check runs here too, in the first hook after parsing, so nothing that walks a body
// recursively (the schemas, the Idempotency-Key's body hash, canonical JSON, the engine) ever sees
// one nested deeper than MAX_BODY_DEPTH: JSON.parse is iterative, a recursive walk of 10,000 levels
// overflows the stack. (The size check is Fastify's bodyLimit, before parsing.)
import type { FastifyInstance } from 'fastify';
import { LedgerError } from '../core/errors.js';
import { MAX_JSON_DEPTH } from '../core/input-rules.js';

/**
 * The deepest nesting of a request body: a JSON value the engine accepts (MAX_JSON_DEPTH levels)
 * inside the fields that carry it (items[i].diff_data[j].value is five levels down), with room to
 * spare, so the engine's own check, with its precise path, still answers for anything it accepts.
 */
export const MAX_BODY_DEPTH = MAX_JSON_DEPTH + 16;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function problemWith(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain the NUL character';
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode (it has a lone surrogate)';
  return null;
}

const join = (path: string, key: string | number): string =>
  typeof key === 'number'
    ? `${path}[${key}]`
    : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
      ? path
        ? `${path}.${key}`
        : key
      : `${path}[${JSON.stringify(key)}]`;

const TOO_DEEP = `must not be nested more than ${MAX_BODY_DEPTH} levels deep`;

const hasEntries = (value: object): boolean => (Array.isArray(value) ? value.length : Object.keys(value).length) > 0;

/**
 * The first unstorable value, or a container nested deeper than MAX_BODY_DEPTH, walking
 * iteratively (bodies may nest thousands deep) and never below that depth.
 */
function findUnstorable(root: unknown, rootPath = ''): { path: string; message: string } | null {
  const stack: [unknown, string, number][] = [[root, rootPath, 0]];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const [value, path, depth] = frame;
    if (value !== null && typeof value === 'object' && depth >= MAX_BODY_DEPTH && hasEntries(value)) {
      return { path, message: TOO_DEEP };
    }
    if (typeof value === 'string') {
      const problem = problemWith(value);
      if (problem) return { path, message: problem };
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { path, message: 'is a number out of range' };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], join(path, i), depth + 1]);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        const problem = problemWith(key);
        if (problem) return { path: join(path, key), message: `key ${problem}` };
        stack.push([child, join(path, key), depth + 1]);
      }
    }
  }
  return null;
}

const refusal = (found: { path: string; message: string }): LedgerError =>
  new LedgerError('VALIDATION_FAILED', `${found.path || '(body)'}: ${found.message}`, [
    { path: found.path, message: found.message },
  ]);

/**
 * The same checks for a body a route takes as text and parses itself (/mcp hands its text to the
 * MCP SDK, which validates tool arguments recursively): refused before anything walks it. Text that
 * is not JSON is left to the route's own parser.
 */
export function assertStorableJsonText(text: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return;
  }
  const found = findUnstorable(parsed);
  if (found) throw refusal(found);
}

export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && request.body === undefined) request.body = {};
    const found =
      findUnstorable(request.params, 'params') ??
      findUnstorable(request.query, 'querystring') ??
      findUnstorable(request.body);
    if (found) throw refusal(found);
  });
}
