/** A bad command line: the benchmark prints it with the usage text and exits 2. */
export class UsageError extends Error {}

/** A whole number of at least `min` from an option's text, or a UsageError naming the option. */
export function positiveInt(value: string, what: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${what} must be an integer >= ${min}, got "${value}"`);
  return n;
}
