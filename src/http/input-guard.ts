// Text PostgreSQL cannot store never reaches it: NUL characters, lone UTF-16 surrogates and numbers
// JSON can spell but a double cannot hold (1e999) are refused at the edge, wherever they are —
// path, query or body, keys or values — with the path of the first one. An action route's absent
// body counts as {}.
import type { FastifyInstance } from 'fastify';
import { LedgerError } from '../core/errors.js';

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

/** The first unstorable value, walking iteratively (bodies may nest thousands deep). */
export function findUnstorable(root: unknown, rootPath = ''): { path: string; message: string } | null {
  const stack: [unknown, string][] = [[root, rootPath]];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      const problem = problemWith(value);
      if (problem) return { path, message: problem };
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { path, message: 'is a number out of range' };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], join(path, i)]);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        const problem = problemWith(key);
        if (problem) return { path: join(path, key), message: `key ${problem}` };
        stack.push([child, join(path, key)]);
      }
    }
  }
  return null;
}

export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && request.body === undefined) request.body = {};
    const found =
      findUnstorable(request.params, 'params') ??
      findUnstorable(request.query, 'querystring') ??
      findUnstorable(request.body);
    if (found) {
      throw new LedgerError('VALIDATION_FAILED', `${found.path || '(body)'}: ${found.message}`, [
        { path: found.path, message: found.message },
      ]);
    }
  });
}
