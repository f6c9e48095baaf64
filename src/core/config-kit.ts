// Building blocks of the configuration schema (docs/configuration.md). A section is declared once,
// as a TypeBox schema whose leaves carry their `default` and the message a person reads when the
// value is wrong; from that one declaration come the file's validation (the schema itself), the
// resolved type (`Resolved`) and the defaults (`defaultsOf`, `withDefaults`).
// Pure: TypeBox is a library of plain data, like the CEL and JSON Patch ones core uses.

import {
  type Static,
  type TLiteral,
  type TObject,
  type TOptional,
  type TProperties,
  type TSchema,
  Type,
} from 'typebox';
import { oneOfMessage } from './schema-issues.js';

/** One problem of a configuration: where, and what is wrong. */
export interface Problem {
  /** A dotted path (`server.port`, `risk.quantity.thresholds[0].score`), or a variable name. */
  path: string;
  message: string;
  /** True when `path` is an environment variable rather than a place in the file. */
  variable?: boolean;
}

type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** A leaf's `default` annotation, when it has one. */
const withDefault = <T extends TSchema>(schema: T, fallback: unknown): T =>
  fallback === undefined ? schema : ({ ...schema, default: fallback } as T);

export const int = (minimum: number, maximum: number, fallback?: number) =>
  withDefault(
    Type.Integer({ minimum, maximum, message: `must be an integer from ${minimum} to ${maximum}` }),
    fallback,
  );
export const intAtLeast = (minimum: number, fallback?: number) =>
  withDefault(
    Type.Integer({ minimum, maximum: Number.MAX_SAFE_INTEGER, message: `must be an integer of at least ${minimum}` }),
    fallback,
  );
// setTimeout fires at once for any delay above 2^31 - 1 ms, so larger timeouts would be no timeout.
const MAX_TIMER_MS = 2_147_483_647;
/** Milliseconds, as a Node.js timer honours them. */
export const millis = (fallback?: number) => int(1, MAX_TIMER_MS, fallback);
export const text = (fallback?: string) =>
  withDefault(Type.String({ minLength: 1, message: 'must be a non-empty string' }), fallback);
export const num = (fallback?: number) => withDefault(Type.Number({ message: 'must be a number' }), fallback);
export const str = (fallback?: string) => withDefault(Type.String({ message: 'must be a string' }), fallback);
export const bool = (fallback?: boolean) => withDefault(Type.Boolean({ message: 'must be true or false' }), fallback);
export const fraction = (maximum: number, fallback?: number) =>
  withDefault(Type.Number({ minimum: 0, maximum, message: `must be a number from 0 to ${maximum}` }), fallback);
export const httpUrl = (fallback?: string) =>
  withDefault(Type.String({ pattern: '^https?://', message: 'must be an http(s) URL' }), fallback);
export const oneOf = <T extends string>(values: readonly T[], fallback?: NoInfer<T>) =>
  withDefault(
    Type.Union(
      // Typed as one literal of the whole union: Static<> only reads tuples, and this is equivalent.
      values.map((value) => Type.Literal(value)) as [TLiteral<T>],
      { message: oneOfMessage(values) },
    ),
    fallback,
  );
export const list = <T extends TSchema>(item: T, fallback?: Static<T>[]) =>
  withDefault(Type.Array(item, { message: 'must be a list' }), fallback);
export const map = <T extends TSchema>(value: T, fallback?: Record<string, Static<T>>) =>
  withDefault(Type.Record(Type.String(), value, { message: 'must be a mapping' }), fallback);
/** A list entry: every key required, no others. */
export const row = <P extends TProperties>(properties: P) =>
  Type.Object(properties, { additionalProperties: false, message: 'must be a mapping' });

/**
 * A key whose default is "not set": in the file a value of `schema` (a key with no value is
 * dropped before validation), resolved `null` when absent.
 */
export const unset = <T extends TSchema>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, default: null });

/** A section: every key optional, no others. (Type.Partial would drop the options.) */
export const section = <P extends TProperties>(properties: P) => {
  const optional = Object.fromEntries(Object.entries(properties).map(([key, schema]) => [key, Type.Optional(schema)]));
  return Type.Object(optional as { [K in keyof P]: TOptional<P[K]> }, {
    additionalProperties: false,
    message: 'must be a mapping',
  });
};

/** The section as the program sees it once resolved: every key present, with its default or the file's value. */
export type Resolved<T extends TSchema> =
  T extends TObject<infer P>
    ? T extends { default: unknown }
      ? Static<T>
      : { [K in keyof P]: Resolved<P[K]> }
    : Static<T>;

const isSection = (schema: unknown): schema is TObject =>
  isObject(schema) && schema.type === 'object' && isObject(schema.properties) && !('default' in schema);

/**
 * `value` (the file's section, already valid) over the schema's defaults: sections merge key by
 * key, anything else (numbers, strings, lists, maps) replaces the default entirely.
 */
export function withDefaults<T extends TSchema>(schema: T, value: unknown): Resolved<T> {
  if (isSection(schema)) {
    const given = isObject(value) ? value : {};
    const out: Json = {};
    for (const [key, child] of Object.entries(schema.properties)) {
      const resolved = withDefaults(child, given[key]);
      if (resolved !== undefined) out[key] = resolved;
    }
    return out as Resolved<T>;
  }
  const chosen = value === undefined ? (schema as { default?: unknown }).default : value;
  return structuredClone(chosen) as Resolved<T>;
}

/** Every default of the schema, as when the file says nothing. */
export const defaultsOf = <T extends TSchema>(schema: T): Resolved<T> => withDefaults(schema, undefined);
