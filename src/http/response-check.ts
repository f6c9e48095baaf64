// Response checking against the API document, for the test suites: with CHANGELEDGER_CHECK_RESPONSES
// set to a directory, every answer of a documented route is validated against what the document
// says that route answers for that status (Ajv, JSON Schema 2020-12), and each mismatch (an
// undocumented status, a body the schema refuses, a body where none is documented) is appended
// to `<dir>/<pid>.jsonl`. The server process writes there too when the end-to-end tests start it.
// Off in production: nothing is loaded or checked without the variable. docs/architecture.md.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

export const CHECK_RESPONSES_ENV = 'CHANGELEDGER_CHECK_RESPONSES';

export interface ResponseMismatch {
  method: string;
  route: string;
  status: number;
  problem: string;
}

interface Doc {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>>;
}

type Validate = ((data: unknown) => boolean) & { errors?: unknown };

/** `/api/ledger/changesets/:id` → `/api/ledger/changesets/{id}` (the document's spelling). */
const documentPath = (route: string) => route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * A checker of one app's answers against its document: `check` says what is wrong with one answer,
 * or null. Compiled schemas are kept per response.
 */
export async function responseChecker(document: unknown) {
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const { default: addFormats } = await import('ajv-formats');
  const doc = document as Doc;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  (addFormats as unknown as (a: unknown) => void)(ajv);
  ajv.addSchema({ ...doc }, 'openapi.json');
  const compiled = new Map<string, Validate>();

  return function check(method: string, route: string, status: number, contentType: string, body: string | null) {
    const operation = doc.paths[documentPath(route)]?.[method.toLowerCase()];
    if (!operation) return null; // not a documented route (hidden ones, the dashboard)
    const responses = operation.responses ?? {};
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => responses[k]);
    if (!key) return `status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`;
    const content = responses[key]?.content;
    if (!content) return body ? `a body where the document says none: ${body.slice(0, 200)}` : null;
    // No body at all is checked as JSON null: allowed only where the schema says nullable.
    const type = body ? (contentType.split(';')[0]?.trim() ?? '') : 'application/json';
    if (!content[type])
      return `content type ${type || '(none)'} is not documented (documented: ${Object.keys(content).join(', ')})`;
    if (type !== 'application/json') return null;
    const at = pointer('paths', documentPath(route), method.toLowerCase(), 'responses', key, 'content', type, 'schema');
    let validate = compiled.get(at);
    if (!validate) {
      validate = ajv.compile({ $ref: `openapi.json#/${at}` }) as Validate;
      compiled.set(at, validate);
    }
    let data: unknown = null;
    if (body) {
      try {
        data = JSON.parse(body);
      } catch {
        return `the body is not JSON: ${body.slice(0, 200)}`;
      }
    }
    return validate(data) ? null : `the body does not match the document: ${JSON.stringify(validate.errors)}`;
  };
}

/** Adds the check to `app` when CHANGELEDGER_CHECK_RESPONSES names a directory; otherwise does nothing. */
export function registerResponseCheck(app: FastifyInstance): void {
  const dir = process.env[CHECK_RESPONSES_ENV];
  if (!dir) return;
  let check: Awaited<ReturnType<typeof responseChecker>> | undefined;
  app.addHook('onReady', async () => {
    check = await responseChecker(app.swagger());
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    if (!check || route === undefined) return payload;
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
    if (payload !== null && payload !== undefined && body === null) return payload; // a stream: not checked
    const contentType = String(reply.getHeader('content-type') ?? (body ? 'application/json' : ''));
    const problem = check(request.method, route, reply.statusCode, contentType, body || null);
    if (problem) {
      const mismatch: ResponseMismatch = { method: request.method, route, status: reply.statusCode, problem };
      appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify(mismatch)}\n`);
    }
    return payload;
  });
}
