import type { CachedResponse, Stored } from './entry.ts';

/**
 * What to purge: one primary key (every variant), keys starting with a path prefix, one surrogate key, or every key
 * of one path (any query, host or route: what an unsafe request invalidates). `path` is indexed by every store, so
 * it costs what it removes, not a scan of the store.
 */
export type PurgeSelector = { key: string } | { prefix: string } | { tag: string } | { path: string };

/**
 * Where responses are kept. Keys are the cache keys of src/cache/key.ts: a response without Vary is stored under
 * its primary key; one with Vary stores `{kind: 'vary'}` under the primary key and the response under
 * `variantKey(primary, signature)`. `get` may answer synchronously (memory) so that a memory hit costs no promise.
 * Stores never throw on get: an unreachable store is a miss (and `set` a no-op), so the cache fails open.
 */
export interface CacheStore {
  readonly kind: 'memory' | 'redis' | 'tiered';
  get(key: string, now: number): Stored | undefined | Promise<Stored | undefined>;
  /** Stores a response, and the Vary record under `primary` when the response varies. */
  set(primary: string, key: string, entry: CachedResponse, vary: readonly string[]): Promise<void>;
  /** Removes the stored responses; resolves to how many keys were removed. */
  purge(selector: PurgeSelector): Promise<number>;
}

export type MaybePromise<T> = T | Promise<T>;

/** The key a variant is stored under: the primary key and the normalised values of the Vary headers. */
export function variantKey(primary: string, signature: string): string {
  return `${primary} v:${signature}`;
}

/** The path a key is for: the key up to its query or its first space. */
export function pathOf(key: string): string {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 32 /* space */ || c === 63 /* ? */) return key.slice(0, i);
  }
  return key;
}

/** Whether `key` belongs to the primary key `primary` (itself or one of its variants). */
export function ownedBy(key: string, primary: string): boolean {
  return key === primary || key.startsWith(`${primary} v:`);
}

export function isResponse(s: Stored | undefined): s is { kind: 'response'; entry: CachedResponse } {
  return s !== undefined && s.kind === 'response';
}
