/**
 * Durations and sizes as users write them in config: `500ms`, `30s`, `5m`, `1h`; `512b`, `16kb`, `10mb`, `1gb`.
 * A bare number is milliseconds (durations) or bytes (sizes); a size string may also omit the unit (bytes). Sizes
 * are binary: 1kb = 1024 bytes. Units are case-insensitive in the parsers; the schema patterns (which editors
 * check too) accept lower case only, so files stay uniform.
 */

export const DURATION_PATTERN = '^\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)\\s*$';
export const SIZE_PATTERN = '^\\s*(\\d+(?:\\.\\d+)?)\\s*(b|kb|mb|gb|k|m|g|kib|mib|gib)?\\s*$';

/**
 * Longest duration a timer can hold: Node fires a longer `setTimeout` after 1 ms instead, so a huge timeout would
 * silently become an immediate one. Validation refuses anything longer.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const DURATION_RE = new RegExp(DURATION_PATTERN, 'i');
const SIZE_RE = new RegExp(SIZE_PATTERN, 'i');

const DURATION_FACTORS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_FACTORS: Record<string, number> = {
  b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
};

/** Milliseconds (rounded) for a duration value that passed schema validation. Throws TypeError for anything else. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = DURATION_RE.exec(value);
  if (m === null) throw new TypeError(`invalid duration "${value}"`);
  return Math.round(Number(m[1]) * DURATION_FACTORS[m[2]!.toLowerCase()]!);
}

/** Bytes (rounded down) for a size value that passed schema validation. Throws TypeError for anything else. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = SIZE_RE.exec(value);
  if (m === null) throw new TypeError(`invalid size "${value}"`);
  return Math.floor(Number(m[1]) * SIZE_FACTORS[(m[2] ?? 'b').toLowerCase()]!);
}
