import { createHash } from 'node:crypto';

interface Entry<T> {
  readonly value: T;
  readonly until: number;
}

/** The cache key of identity source values: their SHA-256, so the cache holds no usable token. */
export function identityKey(values: readonly string[]): string {
  return createHash('sha256').update(values.join('\u0000')).digest('base64url');
}

/**
 * Authorizer answers by identity source, for `ttl` ms, at most `maxEntries` (least recently used dropped first).
 * Concurrent lookups of a key not cached share one call of `load`; what `load` marks not cacheable (a failure, an
 * Unauthorized) is handed to the waiting callers but not kept.
 */
export class VerdictCache<T> {
  readonly #ttl: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry<T>>();
  readonly #inflight = new Map<string, Promise<T>>();

  constructor(ttl: number, maxEntries: number) {
    this.#ttl = ttl;
    this.#maxEntries = maxEntries;
  }

  get(key: string, load: () => Promise<{ value: T; cacheable: boolean }>): T | Promise<T> {
    const e = this.#entries.get(key);
    if (e !== undefined) {
      this.#entries.delete(key);
      if (Date.now() < e.until) {
        this.#entries.set(key, e);
        return e.value;
      }
    }
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = load().then(({ value, cacheable }) => {
        if (cacheable && this.#ttl > 0) this.#store(key, value);
        return value;
      }).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  #store(key: string, value: T): void {
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, until: Date.now() + this.#ttl });
  }
}
