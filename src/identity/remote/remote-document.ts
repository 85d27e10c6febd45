import { FetchError, fetchJson } from './fetch-json.ts';

/** How a remote document is cached (all in milliseconds). */
export interface CacheSettings {
  /** Lifetime when the server sends no `Cache-Control: max-age`. */
  readonly defaultTtl: number;
  /** `max-age` is clamped to [minTtl, maxTtl]: a server can't make us fetch on every request, nor cache forever. */
  readonly minTtl: number;
  readonly maxTtl: number;
  /** Timeout of one fetch. */
  readonly timeout: number;
  /** Longest wait before retrying after a failed fetch (the wait doubles from 1s up to this). */
  readonly retryMax: number;
}

/** First retry delay after a failed fetch; it doubles per consecutive failure, up to `retryMax`. */
const FIRST_RETRY_MS = 1000;

/**
 * A JSON document fetched from a URL (a JWKS, a discovery document) and kept by HTTP cache lifetime.
 *
 * - `current()` never waits: it returns what is cached, fresh or stale, and when stale starts one background
 *   refresh. A failed refresh keeps the stale value (serve-stale) and is retried later, with a growing delay.
 * - `load()` waits only when nothing was ever fetched, sharing the fetch in flight.
 * - `refresh()` fetches now (shared with any fetch in flight), unless a recent failure says to wait.
 *
 * At most one fetch is in flight per document. Nothing here throws or rejects: failures are kept in `lastError`.
 */
export class RemoteDocument<T> {
  readonly url: string;
  readonly #parse: (body: unknown) => T;
  readonly #settings: CacheSettings;
  readonly #now: () => number;
  #value: T | undefined = undefined;
  #freshUntil = 0;
  #retryAt = 0;
  #failures = 0;
  #inflight: Promise<void> | undefined = undefined;
  /** Why the last fetch failed (undefined after a success), for logs. */
  lastError: string | undefined = undefined;
  /** Fetches started so far. */
  fetches = 0;

  /** `parse` turns the JSON body into the cached value; it throws (any error) to refuse a document. */
  constructor(url: string, parse: (body: unknown) => T, settings: CacheSettings, now: () => number = Date.now) {
    this.url = url;
    this.#parse = parse;
    this.#settings = settings;
    this.#now = now;
  }

  /** The cached value, fresh or stale (then refreshed in the background); undefined if none was ever fetched. */
  current(): T | undefined {
    if (this.#value !== undefined && this.#now() >= this.#freshUntil) void this.refresh();
    return this.#value;
  }

  /** The cached value; when there is none yet, waits for a fetch (unless one just failed). */
  async load(): Promise<T | undefined> {
    const v = this.current();
    if (v !== undefined) return v;
    await this.refresh();
    return this.#value;
  }

  /** Fetches the document now, or joins the fetch in flight; does nothing while a failure's retry delay runs. */
  refresh(): Promise<void> {
    if (this.#inflight !== undefined) return this.#inflight;
    if (this.#now() < this.#retryAt) return Promise.resolve();
    this.fetches++;
    this.#inflight = this.#fetch().finally(() => { this.#inflight = undefined; });
    return this.#inflight;
  }

  /** Whether a fetch is in flight. */
  get fetching(): boolean {
    return this.#inflight !== undefined;
  }

  async #fetch(): Promise<void> {
    const s = this.#settings;
    try {
      const { body, maxAge } = await fetchJson(this.url, s.timeout);
      let value: T;
      try {
        value = this.#parse(body);
      } catch (err) {
        throw new FetchError(`${this.url}: ${(err as Error).message}`);
      }
      const ttl = Math.min(s.maxTtl, Math.max(s.minTtl, maxAge === undefined ? s.defaultTtl : maxAge * 1000));
      this.#value = value;
      this.#freshUntil = this.#now() + ttl;
      this.#failures = 0;
      this.#retryAt = 0;
      this.lastError = undefined;
    } catch (err) {
      this.#failures++;
      this.#retryAt = this.#now() + Math.min(s.retryMax, FIRST_RETRY_MS * 2 ** Math.min(this.#failures - 1, 20));
      this.lastError = err instanceof FetchError ? err.message : `${this.url}: ${String(err)}`;
    }
  }
}

/**
 * Values shared by every plugin instance of the process (a JWKS cache, a discovery document), keyed by URL and
 * settings: two routes with the same issuer fetch once, and a config reload keeps what was fetched. Entries not
 * asked for by a config build for a day are dropped (an instance that still holds one keeps using it).
 */
export class SharedRegistry<V> {
  readonly #entries = new Map<string, { value: V; usedAt: number }>();

  get(key: string, make: () => V): V {
    const now = Date.now();
    let e = this.#entries.get(key);
    if (e === undefined) {
      for (const [k, old] of this.#entries) if (now - old.usedAt > 86_400_000) this.#entries.delete(k);
      this.#entries.set(key, (e = { value: make(), usedAt: now }));
    }
    e.usedAt = now;
    return e.value;
  }
}

/** The registry key of a document: its URL and every setting that changes how it is cached. */
export function documentKey(url: string, settings: object): string {
  return `${url}\u0000${JSON.stringify(settings)}`;
}
