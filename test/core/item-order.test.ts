import { describe, expect, it } from 'vitest';
import { orderItems } from '../../src/core/item-order.js';

interface Node {
  key: string;
  sequence: number;
  depends_on: string[];
}

const node = (key: string, sequence: number, depends_on: string[] = []): Node => ({ key, sequence, depends_on });
const keysOf = (items: Node[]): string[] => items.map((item) => item.key);

describe('orderItems', () => {
  it.each([
    {
      name: 'orders independent items by sequence',
      items: [node('c', 3), node('a', 1), node('b', 2)],
      order: ['a', 'b', 'c'],
    },
    {
      name: 'places a dependency that points forward before its dependant',
      items: [node('a', 1, ['c']), node('b', 2), node('c', 3)],
      order: ['b', 'c', 'a'],
    },
    {
      name: 'takes a released item before ready items with a higher sequence',
      items: [node('a', 1, ['d']), node('b', 2), node('c', 3), node('d', 4), node('e', 5)],
      order: ['b', 'c', 'd', 'a', 'e'],
    },
    {
      name: 'waits for every dependency',
      items: [node('a', 1, ['b', 'c']), node('b', 2, ['c']), node('c', 3), node('d', 4)],
      order: ['c', 'b', 'a', 'd'],
    },
    {
      name: 'keeps input order among equal sequences',
      items: [node('x', 1), node('y', 1), node('z', 1)],
      order: ['x', 'y', 'z'],
    },
    {
      name: 'treats dependencies on keys not given as satisfied',
      items: [node('a', 2, ['applied-earlier']), node('b', 1, ['gone'])],
      order: ['b', 'a'],
    },
    {
      name: 'counts a repeated dependency once',
      items: [node('a', 1, ['b', 'b']), node('b', 2)],
      order: ['b', 'a'],
    },
    { name: 'returns nothing for no items', items: [], order: [] },
  ])('$name', ({ items, order }) => {
    expect(keysOf(orderItems(items))).toEqual(order);
  });

  it.each([
    { name: 'a two-item cycle', items: [node('a', 1, ['b']), node('b', 2, ['a'])], message: /cyclic.*a, b/ },
    { name: 'a self-dependency', items: [node('a', 1, ['a']), node('b', 2)], message: /cyclic.*: a$/ },
  ])('throws on $name', ({ items, message }) => {
    expect(() => orderItems(items)).toThrow(message);
  });

  it('orders a 10,000-item chain that points forward without overflowing the stack', () => {
    const count = 10_000;
    const items = Array.from({ length: count }, (_, i) => node(`k${i}`, i, i + 1 < count ? [`k${i + 1}`] : []));
    const ordered = orderItems(items);
    expect(ordered).toHaveLength(count);
    expect(ordered[0]!.key).toBe(`k${count - 1}`);
    expect(ordered[count - 1]!.key).toBe('k0');
  });

  it('orders 10,000 shuffled independent items by sequence', () => {
    const count = 10_000;
    const items = Array.from({ length: count }, (_, i) => node(`k${i}`, (i * 7919) % count));
    const sequences = orderItems(items).map((item) => item.sequence);
    expect(sequences).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it('does not mutate its input', () => {
    const items = [node('a', 1, ['b']), node('b', 2)];
    const snapshot = structuredClone(items);
    orderItems(items);
    expect(items).toEqual(snapshot);
  });
});
