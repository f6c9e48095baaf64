// The tools' input and output schemas, read from the API's own OpenAPI document (the one the typed
// client is generated from): a tool takes what its request takes and answers what the API answers,
// so the two never drift apart. References (`#/components/schemas/…`) are inlined, because an MCP
// client reads each tool's schema on its own.

export type JsonSchema = Record<string, unknown>;

export interface ApiDocument {
  paths: Record<string, Record<string, Operation | undefined> | undefined>;
  components?: { schemas?: Record<string, JsonSchema> };
}

interface Operation {
  parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema; description?: string }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema } | undefined> };
  responses?: Record<string, { content?: Record<string, { schema?: JsonSchema } | undefined> } | undefined>;
}

const OPEN_OBJECT: JsonSchema = { type: 'object' };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export class ApiSchemas {
  constructor(private readonly document: ApiDocument) {}

  private operation(method: string, path: string): Operation {
    const operation = this.document.paths[`/api/ledger${path}`]?.[method];
    if (!operation) throw new Error(`the API document has no ${method.toUpperCase()} ${path}`);
    return operation;
  }

  /** `#/components/schemas/X` replaced by X, everywhere below `schema`. */
  private inline(schema: unknown, seen: readonly string[] = []): unknown {
    if (Array.isArray(schema)) return schema.map((entry) => this.inline(entry, seen));
    if (!isObject(schema)) return schema;
    const ref = schema['$ref'];
    if (typeof ref === 'string') {
      const name = ref.replace(/^#\/components\/schemas\//, '');
      const target = this.document.components?.schemas?.[name];
      // A recursive shape stays open where it would repeat.
      if (!target || seen.includes(name)) return OPEN_OBJECT;
      return this.inline(target, [...seen, name]);
    }
    return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, this.inline(value, seen)]));
  }

  /** The JSON body the operation takes (an empty object schema when it takes none). */
  body(method: string, path: string): JsonSchema {
    const schema = this.operation(method, path).requestBody?.content?.['application/json']?.schema;
    return schema ? (this.inline(schema) as JsonSchema) : { type: 'object', properties: {} };
  }

  /** One parameter's schema, its description kept. */
  parameter(method: string, path: string, name: string): JsonSchema {
    const parameter = this.operation(method, path).parameters?.find((p) => p.name === name);
    if (!parameter?.schema) throw new Error(`the API document has no parameter ${name} on ${path}`);
    const schema = this.inline(parameter.schema) as JsonSchema;
    return parameter.description ? { description: parameter.description, ...schema } : schema;
  }

  /** The successful answer's schema; an open object where the document does not describe it. */
  response(method: string, path: string, status = '200'): JsonSchema {
    const schema = this.operation(method, path).responses?.[status]?.content?.['application/json']?.schema;
    return schema && schema['type'] === 'object' ? (this.inline(schema) as JsonSchema) : OPEN_OBJECT;
  }
}

/** An object schema of `properties`, the ones named in `required` required. */
export function objectSchema(
  properties: Record<string, JsonSchema>,
  required: readonly string[] = [],
  description?: string,
): JsonSchema {
  return {
    type: 'object',
    ...(description ? { description } : {}),
    properties,
    required: [...required],
    additionalProperties: false,
  };
}

/** `base` (an object schema) with more properties, some of them required, and some left out. */
export function extendObject(
  base: JsonSchema,
  more: Record<string, JsonSchema>,
  options: { required?: readonly string[]; omit?: readonly string[] } = {},
): JsonSchema {
  const omit = new Set(options.omit ?? []);
  const properties = Object.fromEntries(
    Object.entries({ ...(base['properties'] as Record<string, JsonSchema> | undefined), ...more }).filter(
      ([key]) => !omit.has(key),
    ),
  );
  const required = [
    ...new Set([...((base['required'] as string[] | undefined) ?? []), ...(options.required ?? [])]),
  ].filter((key) => !omit.has(key));
  return { ...base, type: 'object', properties, required };
}
