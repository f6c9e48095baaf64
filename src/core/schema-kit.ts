// Small building blocks of the JSON Schemas the domain and the API share (TypeBox): one way to say
// "one of these strings", "or null", "any JSON" and "this schema, with a more precise TypeScript type".
import { type TSchema, type TUnsafe, Type } from 'typebox';

/** A schema whose static type is `T`; the JSON Schema stays exactly `schema`. */
export const typed = <T>(schema: TSchema) => Type.Unsafe<T>(schema);

/** One of a fixed set of strings, published as `enum: [...]` (what generated clients turn into a union). */
export const StringEnum = <const T extends readonly string[]>(
  values: T,
  options: { description?: string } = {},
): TUnsafe<T[number]> => Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const AnyJson = Type.Unknown({ description: 'any JSON value' });
