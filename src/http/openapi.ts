// The OpenAPI document (GET /api/ledger/openapi.json), produced by @fastify/swagger from the route
// schemas. This module gives every operation what a generated client needs: a stable operationId,
// named component schemas (`named`), and every answer the server can give: its successes with their
// headers, and each refusal status the route can answer with the `Error` schema, derived from what
// the route is (`operation`), never listed by hand. docs/architecture.md, "The API document".
import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { type Static, type TSchema, type TUnsafe, Type } from 'typebox';
import { ERROR_CATALOG, type ErrorCode } from '../core/errors.js';

const COMPONENTS = new Map<string, TSchema>();

/**
 * Registers `schema` as the component `#/components/schemas/<name>` and returns a reference to it:
 * the document names the shape once, wherever it is used. Only for what the server answers (the
 * request schemas stay inline: they validate requests too).
 */
export function named<T extends TSchema>(name: string, schema: T): TUnsafe<Static<T>> {
  if (COMPONENTS.has(name) && COMPONENTS.get(name) !== schema) throw new Error(`component ${name} named twice`);
  COMPONENTS.set(name, schema);
  return Type.Unsafe<Static<T>>({ $ref: name });
}

/** The named schemas as Fastify shared schemas (`app.addSchema`), which the document lists as components. */
export function addComponents(app: FastifyInstance): void {
  for (const [name, schema] of COMPONENTS) app.addSchema({ ...schema, $id: name });
}

/** Request headers an operation honours (besides Authorization), documented as `#/components/parameters`. */
export const REQUEST_HEADERS = {
  'If-Match': {
    description:
      'The ETag (version) the change is meant for: 412 PRECONDITION_FAILED when the change-set has moved on. `*` matches any.',
  },
  'If-None-Match': { description: 'An ETag the client holds: 304 without a body when it is still current.' },
  'Idempotency-Key': {
    description:
      '1–255 visible ASCII characters, per principal, kept 24 h: a repeat with the same request replays the first answer ' +
      '(with `Idempotent-Replayed: true`); with another request it is 422 IDEMPOTENCY_KEY_REUSED.',
  },
  'Last-Event-ID': { description: 'Resume a stream after this id (as the query parameter says).' },
} as const;
export type RequestHeader = keyof typeof REQUEST_HEADERS;

/** Response headers the server sends. */
const RESPONSE_HEADERS = {
  ETag: { description: 'The change-set version, quoted: send it back as If-Match or If-None-Match.' },
  Location: { description: 'Where the created change-set is.' },
  'Retry-After': { description: 'Seconds to wait before retrying.' },
  'Idempotent-Replayed': {
    description: '`true` when this is the stored answer of an earlier request with the same Idempotency-Key.',
  },
} as const;
export type ResponseHeader = keyof typeof RESPONSE_HEADERS;

/** One success answer: its body schema (none for 204 and 304), description and headers. */
export interface Answer {
  description: string;
  schema?: TSchema;
  headers?: readonly ResponseHeader[];
  /** Default application/json. */
  contentType?: string;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface OperationSpec {
  operationId: string;
  summary: string;
  tags: readonly string[];
  description?: string;
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  /** No body at all is accepted (an absent body counts as `{}`, http/input-guard.ts). */
  bodyOptional?: boolean;
  /** Needs no bearer token (its own credential, or none). */
  public?: boolean;
  /** The answer holds a secret (a token, a code): a repeat with its Idempotency-Key is 409 SECRET_SHOWN_ONCE. */
  issuesSecret?: boolean;
  headers?: readonly RequestHeader[];
  answers: Readonly<Record<number, Answer>>;
  /** The refusals of the route's own (from the engine); those every route shares are added here. */
  refusals?: readonly ErrorCode[];
}

const WRITES: ReadonlySet<Method> = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
const RETRY_LATER: ReadonlySet<ErrorCode> = new Set(['RATE_LIMITED', 'OVERLOADED', 'UNAVAILABLE']);

/**
 * Every refusal code a route can answer: its own, and those that follow from what it is: any
 * request can be malformed (400) or shed (503); a route behind a token can be 401; a write can be
 * rate limited (429); a body can be too large (413) or not JSON (415); a POST with an
 * Idempotency-Key can meet its key in use (409) or reused (422).
 */
export function refusalCodes(method: Method, spec: OperationSpec): ErrorCode[] {
  const codes = new Set<ErrorCode>(['VALIDATION_FAILED', 'UNAVAILABLE', 'OVERLOADED', ...(spec.refusals ?? [])]);
  if (!spec.public) codes.add('UNAUTHENTICATED');
  if (WRITES.has(method)) {
    codes.add('PAYLOAD_TOO_LARGE');
    codes.add('UNSUPPORTED_MEDIA_TYPE');
    if (!spec.public) codes.add('RATE_LIMITED');
  }
  if (method === 'POST' && !spec.public) {
    codes.add('CONFLICT');
    codes.add('IDEMPOTENCY_KEY_REUSED');
    if (spec.issuesSecret) codes.add('SECRET_SHOWN_ONCE');
  }
  return [...codes];
}

const ErrorRef = Type.Unsafe({ $ref: 'Error' });

const json = (schema: TSchema, contentType = 'application/json') => ({ [contentType]: { schema } });
const headersOf = (names: readonly ResponseHeader[] | undefined) =>
  names && names.length > 0
    ? Object.fromEntries(names.map((name) => [name, { type: 'string', ...RESPONSE_HEADERS[name] }]))
    : undefined;

/** The Fastify response map of one answer (the form @fastify/swagger turns into a response object). */
function response(answer: Answer) {
  const headers = headersOf(answer.headers);
  return {
    description: answer.description,
    ...(headers ? { headers } : {}),
    ...(answer.schema ? { content: json(answer.schema, answer.contentType) } : { type: 'null' }),
  };
}

/** The documented responses: the answers, then each refusal status with the codes it stands for. */
export function responsesOf(method: Method, spec: OperationSpec): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of refusalCodes(method, spec)) {
    const status = ERROR_CATALOG[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const map: Record<string, unknown> = {};
  const replayable = method === 'POST' && !spec.public;
  for (const [status, answer] of Object.entries(spec.answers)) {
    // A success of a POST may be the replay of an earlier one (Idempotency-Key).
    const headers =
      replayable && status.startsWith('2')
        ? [...(answer.headers ?? []), 'Idempotent-Replayed' as const]
        : answer.headers;
    map[status] = response({ ...answer, ...(headers ? { headers } : {}) });
  }
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    map[status] = response({
      description: `Refused: ${codes.join(', ')}`,
      schema: ErrorRef,
      ...(codes.some((code) => RETRY_LATER.has(code)) ? { headers: ['Retry-After'] as const } : {}),
    });
  }
  return map;
}

/**
 * A route's schema: its parameters and body (which validate the request) and the document's view
 * of the operation. The extension keys (`x-…`) are turned into parameters and the requestBody's
 * `required` by `finishDocument` and do not stay in the document.
 */
export function operation<const S extends OperationSpec>(method: Method, spec: S) {
  const { answers: _a, refusals: _r, bodyOptional, headers, issuesSecret: _s, public: _p, ...schema } = spec;
  const requestHeaders = [...(headers ?? []), ...(method === 'POST' && !spec.public ? ['Idempotency-Key'] : [])];
  return {
    ...schema,
    ...(spec.public ? { security: [] } : {}),
    ...(bodyOptional ? { 'x-body-optional': true } : {}),
    ...(requestHeaders.length > 0 ? { 'x-request-headers': requestHeaders } : {}),
    response: responsesOf(method, spec),
  } as Omit<S, 'answers' | 'refusals' | 'bodyOptional' | 'headers' | 'issuesSecret' | 'public'> & { response: unknown };
}

const parameterName = (header: string) => header.replace(/-/g, '');

type Operation = Record<string, unknown> & {
  parameters?: unknown[];
  requestBody?: { required?: boolean };
};

/** The document's last touches: request headers as parameters, optional bodies, servers. */
export function finishDocument(document: Record<string, unknown>, serverUrl: string): Record<string, unknown> {
  const paths = (document['paths'] ?? {}) as Record<string, Record<string, Operation>>;
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      const headers = operation['x-request-headers'] as string[] | undefined;
      if (headers) {
        operation.parameters = [
          ...(operation.parameters ?? []),
          ...headers.map((header) => ({ $ref: `#/components/parameters/${parameterName(header)}` })),
        ];
        delete operation['x-request-headers'];
      }
      if (operation['x-body-optional']) {
        if (operation.requestBody) operation.requestBody.required = false;
        delete operation['x-body-optional'];
      }
    }
  }
  const components = (document['components'] ?? {}) as Record<string, unknown>;
  components['parameters'] = Object.fromEntries(
    Object.entries(REQUEST_HEADERS).map(([name, { description }]) => [
      parameterName(name),
      { name, in: 'header', required: false, description, schema: { type: 'string' } },
    ]),
  );
  return { ...document, servers: [{ url: serverUrl || '/' }], components };
}

/** The @fastify/swagger options of the API. */
export function swaggerOptions(info: { version: string; serverUrl: string }): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'changeledger',
        version: info.version,
        description: 'Change-set workflow engine API',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Shared schemas are components under their own names.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json['$id'] ?? `def-${i}`) },
    transformObject: (documentObject) =>
      finishDocument(
        ('openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject) as Record<
          string,
          unknown
        >,
        info.serverUrl,
      ) as never,
  };
}
