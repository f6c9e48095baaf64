// One invariant check in place of a non-null assertion (`x!`), which biome refuses in src/.

/** `value` itself; throws a clear Error naming `what` if it is null or undefined (a broken invariant). */
export function defined<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`invariant broken: ${what} is missing`);
  return value;
}
