// The one translation of schema errors into problems: one per path, unions said once with their
// values, missing and unknown fields at their own paths, whichever way a schema spells its values.
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { mergeIssues, oneOfMessage, schemaIssues, withAllErrors } from '../../src/core/schema-issues.js';

const Item = Type.Object(
  {
    operation_type: Type.Union(['CREATE', 'UPDATE'].map((o) => Type.Literal(o))),
    target_id: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);
const Body = Type.Object(
  {
    title: Type.String({ minLength: 1 }),
    priority: Type.Optional(Type.Union(['LOW', 'HIGH'].map((p) => Type.Literal(p)))),
    mode: Type.Optional(Type.Enum(['AUTO', 'ATOMIC'])),
    shade: Type.Optional(Type.Union([Type.Union(['RED', 'BLUE'].map((c) => Type.Literal(c))), Type.Null()])),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 3 }), Type.Null()])),
    target: Type.Optional(
      Type.Union([
        Type.Object({ url: Type.String() }, { additionalProperties: false }),
        Type.Object({ queue: Type.String(), durable: Type.Boolean() }, { additionalProperties: false }),
      ]),
    ),
    me: Type.Optional(Type.Literal('me')),
    items: Type.Optional(Type.Array(Item)),
  },
  { additionalProperties: false },
);
const check = Compile(Body);
const issuesOf = (value: unknown, options = {}) =>
  schemaIssues(
    withAllErrors(() => check.Errors(value)),
    { value, ...options },
  );

describe('schemaIssues', () => {
  it('says a union of values once, with the values it allows (anyOf of consts and enum alike)', () => {
    expect(issuesOf({ title: 't', priority: 'SOON', mode: 'FAST', me: 'you' })).toEqual([
      { path: 'priority', message: 'must be one of: LOW, HIGH', allowed: ['LOW', 'HIGH'] },
      { path: 'mode', message: 'must be one of: AUTO, ATOMIC', allowed: ['AUTO', 'ATOMIC'] },
      { path: 'me', message: 'must be one of: me', allowed: ['me'] },
    ]);
    expect(oneOfMessage(['A', 'B'])).toBe('must be one of: A, B');
  });

  it('says a nullable union of values with its values and null', () => {
    expect(issuesOf({ title: 't', shade: 'GREEN' })).toEqual([
      { path: 'shade', message: 'must be one of: RED, BLUE, or null', allowed: ['RED', 'BLUE'] },
    ]);
  });

  it('reports the branch of a union the value is of the kind of, or what the union accepts', () => {
    expect(issuesOf({ title: 't', description: 'long' })).toEqual([
      { path: 'description', message: 'must have at most 3 characters' },
    ]);
    expect(issuesOf({ title: 't', description: 7 })).toEqual([
      { path: 'description', message: 'must be a string or null' },
    ]);
  });

  it('picks the object branch that matches best', () => {
    expect(issuesOf({ title: 't', target: { queue: 'q' } })).toEqual([
      { path: 'target.durable', message: 'is required' },
    ]);
  });

  it('names a missing field and an unknown one by their own paths, indexes in brackets', () => {
    expect(issuesOf({ items: [{ operation_type: 'CREATE', extra: 1 }], colour: 'red' })).toEqual([
      { path: 'title', message: 'is required' },
      { path: 'colour', message: 'unknown field' },
      { path: 'items[0].target_id', message: 'is required' },
      { path: 'items[0].extra', message: 'unknown field' },
    ]);
  });

  it('puts the part of the request before each path, and names the part itself at the root', () => {
    const Query = Type.Object({ limit: Type.Integer({ minimum: 1 }) });
    const query = { limit: 0 };
    expect(schemaIssues(Compile(Query).Errors(query), { prefix: 'query', value: query })).toEqual([
      { path: 'query.limit', message: 'must be at least 1' },
    ]);
    expect(schemaIssues(Compile(Query).Errors([]), { prefix: 'query' })).toEqual([
      { path: 'query', message: 'must be an object' },
    ]);
  });

  it('prefers a `message` annotation of the schema, and calls unknown properties as told', () => {
    const Port = Type.Object(
      { port: Type.Integer({ minimum: 1, message: 'must be a port number' }) },
      { additionalProperties: false },
    );
    const value = { port: 0, prot: 1 };
    expect(schemaIssues(Compile(Port).Errors(value), { value, schema: Port, unknown: 'unknown key' })).toEqual([
      { path: 'prot', message: 'unknown key' },
      { path: 'port', message: 'must be a port number' },
    ]);
  });

  it('reports every problem, not the first eight', () => {
    const items = Array.from({ length: 20 }, () => ({ operation_type: 'CREATE' }));
    expect(issuesOf({ title: 't', items })).toHaveLength(20);
  });

  it('merges a second opinion: its problems at paths the first did not report', () => {
    expect(
      mergeIssues(
        [{ path: 'priority', message: 'core' }],
        [
          { path: 'priority', message: 'schema' },
          { path: 'tags', message: 'schema' },
        ],
      ),
    ).toEqual([
      { path: 'priority', message: 'core' },
      { path: 'tags', message: 'schema' },
    ]);
  });
});
