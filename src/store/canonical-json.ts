import { createHash } from 'node:crypto';
import { StoreError } from './errors.ts';
import type { JsonValue } from './types.ts';

/**
 * The canonical JSON text of `value`: object keys sorted (by UTF-16 code units, as `Array.prototype.sort` does),
 * no whitespace, properties whose value is `undefined` left out (as JSON.stringify does). Two values that are equal
 * as JSON give the same text whatever their key order. Anything JSON can't hold exactly (a non-finite number, a
 * bigint, a function, `undefined` in an array, a Date or other class instance, a cycle) is `invalid`: it would
 * not read back as it was written.
 */
export function canonicalJson(value: unknown, what = 'value'): string {
  return write(value, what, new Set());
}

function write(v: unknown, path: string, seen: Set<object>): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new StoreError('invalid', `${path} is ${v}, which JSON can't hold`);
    return JSON.stringify(v);
  }
  if (typeof v !== 'object') throw new StoreError('invalid', `${path} is a ${typeof v}, which JSON can't hold`);
  if (seen.has(v)) throw new StoreError('invalid', `${path} refers back to itself`);
  seen.add(v);
  let out: string;
  if (Array.isArray(v)) {
    out = `[${v.map((item, i) => {
      if (item === undefined) throw new StoreError('invalid', `${path}[${i}] is undefined, which JSON can't hold`);
      return write(item, `${path}[${i}]`, seen);
    }).join(',')}]`;
  } else {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new StoreError('invalid', `${path} is not a plain object`);
    const record = v as Record<string, unknown>;
    const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
    out = `{${keys.map((k) => `${JSON.stringify(k)}:${write(record[k], `${path}.${k}`, seen)}`).join(',')}}`;
  }
  seen.delete(v);
  return out;
}

/** The content address of a JSON value: the hex SHA-256 of its canonical JSON text. */
export function contentId(canonical: string): string {
  return createHash('sha256').update(canonical).digest('hex');
}

/** Parses JSON text the store wrote itself. */
export function readJson(text: string): JsonValue {
  return JSON.parse(text) as JsonValue;
}
