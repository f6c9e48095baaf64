// The one translation of schema validation errors (TypeBox's, the API's request schemas and the
// configuration file's alike) into problems a person or an agent can act on: one per path, at the
// path as written (`items[0].target_id`, `query.limit`, `server.port`), a missing field named by
// its own path, an unknown one too, and a union of values said once with the values it allows
// (docs/errors.md, "Details"). Pure: TypeBox is a library of plain data.

import type { TSchema } from 'typebox';
import { Settings } from 'typebox/system';
import { pointerTokens, pointerToPath } from './json-pointer.js';

/** A schema error as TypeBox reports it (and Fastify passes on as `error.validation`). */
export interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** One problem at one path; `allowed` lists the values a field of fixed values accepts. */
export interface SchemaIssue {
  path: string;
  message: string;
  allowed?: string[];
}

export interface SchemaIssueOptions {
  /** The value validated: a pointer token is an array index where it walks through an array. */
  value?: unknown;
  /** The schema validated against: a node's `message` annotation replaces the generic message. */
  schema?: TSchema;
  /** Put before every path (`query` → `query.limit`; the root itself is `query`). */
  prefix?: string;
  /** What an unknown property is called: `unknown field` (the API), `unknown key` (the configuration). */
  unknown?: string;
}

/** The message of a field that takes one of fixed values; `allowed` carries the same values. */
export const oneOfMessage = (values: readonly unknown[]): string =>
  `must be one of: ${values.map((value) => String(value)).join(', ')}`;

/** Enough for any real input; the default of 8 would hide all but the first few problems. */
const MAX_SCHEMA_ERRORS = 10_000;

/** Runs `collect` (a TypeBox `Errors` call) with every error reported, not only the first few. */
export function withAllErrors<T>(collect: () => T): T {
  const { maxErrors } = Settings.Get();
  Settings.Set({ maxErrors: MAX_SCHEMA_ERRORS });
  try {
    return collect();
  } finally {
    Settings.Set({ maxErrors });
  }
}

const ARTICLE_TYPES: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  null: 'null',
};

const describeType = (type: unknown): string =>
  (Array.isArray(type) ? type : [type]).map((t) => ARTICLE_TYPES[String(t)] ?? String(t)).join(' or ');

const plural = (count: unknown, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** A generic error's message, in the words the rest of the API uses. */
function genericMessage(error: SchemaError, unknown: string): string {
  const { params } = error;
  switch (error.keyword) {
    case 'type':
      return `must be ${describeType(params['type'])}`;
    case 'boolean':
      return error.schemaPath.endsWith('/additionalProperties') ? unknown : 'is not allowed';
    case 'minLength':
      return `must have at least ${plural(params['limit'], 'character')}`;
    case 'maxLength':
      return `must have at most ${plural(params['limit'], 'character')}`;
    case 'minItems':
      return `must have at least ${plural(params['limit'], 'entry', 'entries')}`;
    case 'maxItems':
      return `must have at most ${plural(params['limit'], 'entry', 'entries')}`;
    case 'minProperties':
      return `must have at least ${plural(params['limit'], 'field')}`;
    case 'maxProperties':
      return `must have at most ${plural(params['limit'], 'field')}`;
    case 'minimum':
      return `must be at least ${params['limit']}`;
    case 'maximum':
      return `must be at most ${params['limit']}`;
    case 'exclusiveMinimum':
      return `must be greater than ${params['limit']}`;
    case 'exclusiveMaximum':
      return `must be less than ${params['limit']}`;
    default:
      return error.message ?? 'is invalid';
  }
}

/** What a union branch accepts when the value is of the wrong kind for it entirely; null if it is not. */
interface Accepts {
  values: unknown[];
  types: string[];
}

interface Found {
  pointer: string;
  issue: Omit<SchemaIssue, 'path'>;
}

class Translator {
  private readonly unknown: string;

  constructor(private readonly options: SchemaIssueOptions) {
    this.unknown = options.unknown ?? 'unknown field';
  }

  /** The `message` annotation of the schema node at `schemaPath`, when the schema is known. */
  private annotation(schemaPath: string): string | undefined {
    let node: unknown = this.options.schema;
    if (node === undefined) return undefined;
    for (const token of pointerTokens(schemaPath.replace(/^#/, ''))) {
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[token] : undefined;
    }
    const message = node !== null && typeof node === 'object' ? (node as { message?: unknown }).message : undefined;
    return typeof message === 'string' ? message : undefined;
  }

  /** Every issue of `errors`, unions resolved (outermost first, each into its best branch). */
  translate(errors: readonly SchemaError[]): Found[] {
    const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
    const branchPrefix = (union: SchemaError) => `${union.schemaPath}/${union.keyword}/`;
    const outermost = unions.filter((u) => !unions.some((o) => o !== u && u.schemaPath.startsWith(branchPrefix(o))));
    const inUnion = (error: SchemaError) => outermost.some((u) => error.schemaPath.startsWith(branchPrefix(u)));
    const found: Found[] = [];
    for (const error of errors) {
      if (outermost.includes(error)) {
        found.push(
          ...this.union(
            error,
            errors.filter((e) => e.schemaPath.startsWith(branchPrefix(error))),
          ),
        );
      } else if (!inUnion(error) && error.keyword !== 'anyOf' && error.keyword !== 'oneOf') {
        found.push(...this.plain(error));
      }
    }
    return found;
  }

  private plain(error: SchemaError): Found[] {
    const { keyword, params, instancePath } = error;
    // An unknown property is reported at its own path (keyword `boolean`), not again at its parent.
    if (keyword === 'additionalProperties') return [];
    if (keyword === 'required') {
      const missing = (params['requiredProperties'] as string[] | undefined) ?? [];
      return missing.map((key) => ({
        pointer: `${instancePath}/${escapeToken(key)}`,
        issue: { message: 'is required' },
      }));
    }
    if (keyword === 'enum' || keyword === 'const') {
      const values = keyword === 'enum' ? ((params['allowedValues'] as unknown[]) ?? []) : [params['allowedValue']];
      return [{ pointer: instancePath, issue: this.valuesIssue(values, error.schemaPath) }];
    }
    if (keyword === 'boolean')
      return [{ pointer: instancePath, issue: { message: genericMessage(error, this.unknown) } }];
    const message = this.annotation(error.schemaPath) ?? genericMessage(error, this.unknown);
    return [{ pointer: instancePath, issue: { message } }];
  }

  private valuesIssue(values: readonly unknown[], schemaPath: string): Omit<SchemaIssue, 'path'> {
    const allowed = values.filter((value) => value !== null).map((value) => String(value));
    const message =
      this.annotation(schemaPath) ??
      (values.includes(null) ? `${oneOfMessage(allowed)}, or null` : oneOfMessage(allowed));
    return { message, allowed };
  }

  /**
   * A union: when the value is of the wrong kind for every branch, one issue saying what is
   * accepted (the values, or the types); otherwise the issues of the branch it matches best (the
   * fewest errors among the branches of its kind).
   */
  private union(union: SchemaError, branchErrors: readonly SchemaError[]): Found[] {
    const prefix = `${union.schemaPath}/${union.keyword}/`;
    const branches = new Map<string, SchemaError[]>();
    for (const error of branchErrors) {
      const index = error.schemaPath.slice(prefix.length).split('/')[0] ?? '';
      branches.set(index, [...(branches.get(index) ?? []), error]);
    }
    // No branch errors (cut off by the error limit): say what the union's own error says.
    if (branches.size === 0) return this.plain({ ...union, keyword: 'union' });
    const accepts = [...branches.values()].map((errors) => this.accepts(errors, union.instancePath));
    if (accepts.every((a) => a !== null)) {
      const values = accepts.flatMap((a) => a?.values ?? []);
      const types = accepts.flatMap((a) => a?.types ?? []);
      if (types.length === 0 || (types.length === 1 && types[0] === 'null' && values.length > 0)) {
        return [
          {
            pointer: union.instancePath,
            issue: this.valuesIssue([...values, ...types.map(() => null)], union.schemaPath),
          },
        ];
      }
      const described = [...values.map((value) => JSON.stringify(value)), ...types.map(describeType)];
      const message = this.annotation(union.schemaPath) ?? `must be ${described.join(' or ')}`;
      return [{ pointer: union.instancePath, issue: { message } }];
    }
    const candidates = [...branches.values()].filter((_, i) => accepts[i] === null);
    const best = candidates.reduce((a, b) => (b.length < a.length ? b : a));
    return this.translate(best);
  }

  /** What a branch accepts, when all its errors say the value is of the wrong kind or value at `at`. */
  private accepts(errors: readonly SchemaError[], at: string): Accepts | null {
    const accepted: Accepts = { values: [], types: [] };
    const nested = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
    for (const error of errors) {
      if (error.instancePath !== at) return null;
      if (error.keyword === 'const') accepted.values.push(error.params['allowedValue']);
      else if (error.keyword === 'enum') accepted.values.push(...((error.params['allowedValues'] as unknown[]) ?? []));
      else if (error.keyword === 'type') accepted.types.push(String(error.params['type']));
      else if (!nested.includes(error)) return null;
    }
    return accepted;
  }
}

const escapeToken = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Every problem of `errors`, one per path: unions resolved (values listed once with `allowed`),
 * missing and unknown fields at their own paths, `message` annotations of the schema preferred.
 */
export function schemaIssues(errors: readonly SchemaError[], options: SchemaIssueOptions = {}): SchemaIssue[] {
  const translator = new Translator(options);
  const byPath = new Map<string, SchemaIssue>();
  for (const { pointer, issue } of translator.translate(errors)) {
    const relative = pointerToPath(pointer, 'value' in options ? { value: options.value } : undefined);
    const path = !options.prefix
      ? relative
      : relative === ''
        ? options.prefix
        : relative.startsWith('[')
          ? `${options.prefix}${relative}`
          : `${options.prefix}.${relative}`;
    if (!byPath.has(path)) byPath.set(path, { path, ...issue });
  }
  return [...byPath.values()];
}

/**
 * The problems of a body checked twice, by its schema and by core's validation: core's first (its
 * messages are the domain's), then each schema problem at a path core did not report.
 */
export function mergeIssues<T extends { path: string }>(first: readonly T[], then: readonly T[]): T[] {
  const seen = new Set(first.map((issue) => issue.path));
  return [...first, ...then.filter((issue) => !seen.has(issue.path))];
}
