/**
 * Durations and sizes as users write them in config: `500ms`, `30s`, `5m`, `1h`; `512b`, `16kb`, `10mb`, `1gb`.
 * A bare number is milliseconds (durations) or bytes (sizes). Sizes are binary: 1kb = 1024 bytes.
 */

export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)\\s*$';
export const SIZE_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(b|kb|mb|gb|k|m|g|kib|mib|gib)?\\s*$';

const DURATION_RE = new RegExp(DURATION_PATTERN, 'i');
const SIZE_RE = new RegExp(SIZE_PATTERN, 'i');

const DURATION_FACTORS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_FACTORS: Record<string, number> = {
  b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
};

/** Milliseconds for a duration value that passed schema validation. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = DURATION_RE.exec(value);
  if (!m) throw new TypeError(`invalid duration "${value}"`);
  const unit = /[a-z]+/i.exec(value.trim().replace(/^[\d.\s]+/, ''))![0].toLowerCase();
  return Math.round(Number.parseFloat(value) * DURATION_FACTORS[unit]!);
}

/** Bytes for a size value that passed schema validation. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') return value;
  if (!SIZE_RE.test(value)) throw new TypeError(`invalid size "${value}"`);
  const unit = (/[a-z]+/i.exec(value)?.[0] ?? 'b').toLowerCase();
  return Math.floor(Number.parseFloat(value) * SIZE_FACTORS[unit]!);
}
