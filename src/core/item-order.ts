// Stable topological order of change-set items: dependencies first, otherwise by `sequence`.
import { defined } from './defined.js';

export interface Orderable {
  key: string;
  sequence: number;
  depends_on: string[];
}

/** A binary min-heap of item indices, ordered by sequence and then by input position. */
class IndexHeap {
  private readonly heap: number[] = [];

  /** The index at heap slot `slot` (every slot read is below the heap's length). */
  private at(slot: number): number {
    return defined(this.heap[slot], 'heap slot');
  }

  private swap(a: number, b: number): void {
    const atA = this.at(a);
    this.heap[a] = this.at(b);
    this.heap[b] = atA;
  }

  constructor(private readonly sequences: readonly number[]) {}

  get size(): number {
    return this.heap.length;
  }

  push(index: number): void {
    const heap = this.heap;
    heap.push(index);
    let child = heap.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.less(this.at(child), this.at(parent))) break;
      this.swap(child, parent);
      child = parent;
    }
  }

  pop(): number {
    const heap = this.heap;
    const top = this.at(0);
    const last = defined(heap.pop(), 'heap top');
    if (heap.length === 0) return top;
    heap[0] = last;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < heap.length && this.less(this.at(left), this.at(smallest))) smallest = left;
      if (right < heap.length && this.less(this.at(right), this.at(smallest))) smallest = right;
      if (smallest === parent) return top;
      this.swap(smallest, parent);
      parent = smallest;
    }
  }

  private less(a: number, b: number): boolean {
    const bySequence = defined(this.sequences[a], 'sequence') - defined(this.sequences[b], 'sequence');
    return bySequence !== 0 ? bySequence < 0 : a < b;
  }
}

/** For each item, its dependants' indices, and how many of its own dependencies are still unplaced. */
function buildGraph(items: readonly Orderable[]): { dependants: number[][]; waiting: number[] } {
  const indexByKey = new Map(items.map((item, index) => [item.key, index]));
  const dependants: number[][] = items.map(() => []);
  const waiting = items.map((item, index) => {
    // Keys outside `items` are already applied; duplicates count once.
    const inside = new Set<number>();
    for (const dep of item.depends_on) {
      const depIndex = indexByKey.get(dep);
      if (depIndex !== undefined) inside.add(depIndex);
    }
    for (const depIndex of inside) defined(dependants[depIndex], 'dependants list').push(index);
    return inside.size;
  });
  return { dependants, waiting };
}

/**
 * Kahn's algorithm with a min-heap: among the items whose dependencies are all placed, the one
 * with the lowest `sequence` goes next. Dependencies on keys not in `items` count as satisfied.
 * Throws on a cycle (validation rejects cycles before an item ever gets here).
 */
export function orderItems<T extends Orderable>(items: readonly T[]): T[] {
  const { dependants, waiting } = buildGraph(items);
  const ready = new IndexHeap(items.map((item) => item.sequence));
  waiting.forEach((count, index) => {
    if (count === 0) ready.push(index);
  });
  const ordered: T[] = [];
  while (ready.size > 0) {
    const index = ready.pop();
    ordered.push(defined(items[index], 'ready item'));
    for (const dependant of defined(dependants[index], 'dependants list')) {
      const left = defined(waiting[dependant], 'waiting count') - 1;
      waiting[dependant] = left;
      if (left === 0) ready.push(dependant);
    }
  }
  if (ordered.length < items.length) {
    const stuck = items.filter((_, index) => defined(waiting[index], 'waiting count') > 0).map((item) => item.key);
    throw new Error(`items have cyclic dependencies: ${stuck.join(', ')}`);
  }
  return ordered;
}
