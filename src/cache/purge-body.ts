import type { PurgeSelector } from './store.ts';

/** The body of POST /cache/purge: exactly one of key, prefix, tag (a non-empty string); else what is wrong. */
export function purgeSelector(body: Buffer): PurgeSelector | string {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the body must be JSON: {"key": "…"}, {"prefix": "/path/"} or {"tag": "…"}';
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'the body must be a JSON object';
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length !== 1 || !['key', 'prefix', 'tag'].includes(entries[0]![0])) return 'give exactly one of "key", "prefix", "tag"';
  const [name, value] = entries[0]!;
  if (typeof value !== 'string' || value === '') return `"${name}" must be a non-empty string`;
  if (name === 'prefix' && !value.startsWith('/')) return '"prefix" must be a path prefix starting with "/"';
  return { [name]: value } as PurgeSelector;
}
