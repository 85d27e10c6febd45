import { entrySize, type CachedResponse, type Stored } from './entry.ts';
import { ownedBy, pathOf, type CacheStore, type PurgeSelector } from './store.ts';

interface Node {
  stored: Stored;
  size: number;
  keepUntil: number;
}

/**
 * Responses in this process, an LRU bounded in bytes (bodies, headers and keys, counted roughly). A Map keeps
 * insertion order, so the least recently used entry is the first one: a hit moves its entry to the end, an insert
 * over the budget drops from the front. Expired entries go when met, or when the budget needs room.
 */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory' as const;
  readonly #nodes = new Map<string, Node>();
  readonly #tags = new Map<string, Set<string>>();
  /** Keys by path, for invalidation by path without a scan. */
  readonly #paths = new Map<string, Set<string>>();
  #bytes = 0;
  #maxBytes: number;
  /** Largest time a stored response is kept here, whatever its freshness (the memory tier in front of Redis). */
  readonly #maxHoldMs: number;
  evictions = 0;

  constructor(maxBytes: number, maxHoldMs = Infinity) {
    this.#maxBytes = maxBytes;
    this.#maxHoldMs = maxHoldMs;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#nodes.size;
  }

  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** A new budget (a reload); shrinking evicts at once. */
  resize(maxBytes: number): void {
    this.#maxBytes = maxBytes;
    this.#evict(0);
  }

  get(key: string, now: number): Stored | undefined {
    const n = this.#nodes.get(key);
    if (n === undefined) return undefined;
    if (n.keepUntil <= now) {
      this.#remove(key, n);
      return undefined;
    }
    this.#nodes.delete(key);
    this.#nodes.set(key, n);
    return n.stored;
  }

  set(primary: string, key: string, entry: CachedResponse, vary: readonly string[]): Promise<void> {
    const keepUntil = Math.min(entry.keepUntil, Date.now() + this.#maxHoldMs);
    if (vary.length > 0) this.#put(primary, { kind: 'vary', names: vary, keepUntil }, 100 + primary.length * 2, keepUntil);
    this.#put(key, { kind: 'response', entry }, entrySize(key, entry), keepUntil);
    return Promise.resolve();
  }

  /** Stores a lookup result as it is (the memory tier copying from Redis). */
  put(key: string, stored: Stored, keepUntil: number): void {
    const size = stored.kind === 'response' ? entrySize(key, stored.entry) : 100 + key.length * 2;
    this.#put(key, stored, size, Math.min(keepUntil, Date.now() + this.#maxHoldMs));
  }

  purge(selector: PurgeSelector): Promise<number> {
    return Promise.resolve(this.purgeNow(selector));
  }

  purgeNow(selector: PurgeSelector): number {
    let removed = 0;
    if ('tag' in selector || 'path' in selector) {
      const keys = 'tag' in selector ? this.#tags.get(selector.tag) : this.#paths.get(selector.path);
      for (const key of [...(keys ?? [])]) {
        const n = this.#nodes.get(key);
        if (n !== undefined) {
          this.#remove(key, n);
          removed++;
        }
      }
      return removed;
    }
    const match = 'key' in selector ? (k: string) => ownedBy(k, selector.key) : (k: string) => k.startsWith(selector.prefix);
    for (const [key, n] of this.#nodes) {
      if (match(key)) {
        this.#remove(key, n);
        removed++;
      }
    }
    return removed;
  }

  clear(): void {
    this.#nodes.clear();
    this.#tags.clear();
    this.#paths.clear();
    this.#bytes = 0;
  }

  #put(key: string, stored: Stored, size: number, keepUntil: number): void {
    if (size > this.#maxBytes) return;
    const old = this.#nodes.get(key);
    if (old !== undefined) this.#remove(key, old);
    this.#evict(size);
    this.#nodes.set(key, { stored, size, keepUntil });
    this.#bytes += size;
    setOf(this.#paths, pathOf(key)).add(key);
    if (stored.kind === 'response') for (const t of stored.entry.tags) setOf(this.#tags, t).add(key);
  }


  /** Makes room for `size` more bytes, least recently used first. */
  #evict(size: number): void {
    for (const [key, n] of this.#nodes) {
      if (this.#bytes + size <= this.#maxBytes) return;
      this.#remove(key, n);
      this.evictions++;
    }
  }

  #remove(key: string, n: Node): void {
    this.#nodes.delete(key);
    this.#bytes -= n.size;
    unindex(this.#paths, pathOf(key), key);
    if (n.stored.kind !== 'response') return;
    for (const t of n.stored.entry.tags) unindex(this.#tags, t, key);
  }
}

function setOf(index: Map<string, Set<string>>, name: string): Set<string> {
  let s = index.get(name);
  if (s === undefined) index.set(name, (s = new Set()));
  return s;
}

function unindex(index: Map<string, Set<string>>, name: string, key: string): void {
  const s = index.get(name);
  s?.delete(key);
  if (s?.size === 0) index.delete(name);
}
