import type { RequestContext } from '../core/context.ts';
import { PluginConfigError, type PluginScope } from '../core/plugin.ts';
import { parseDuration, parseSize } from '../config/units.ts';
import type { CacheConfigT } from '../plugins/cache/schema.ts';
import type { CachedResponse, StoredHeaders } from './entry.ts';
import { cacheStatus, type CacheStatusEntry } from './cache-status.ts';
import { has, responseCacheControl } from './directives.ts';
import { explicitLifetimeMs, storeTtlMs, usability, type Usability, type UsabilityInput, type UsabilityResult } from './freshness.ts';
import { storability } from './storable.ts';
import { varyNames, varySignature } from './vary.ts';
import { variantKey, type CacheStore } from './store.ts';
import { cacheStore } from './stores.ts';
import type { CacheKeySpec } from './key.ts';
import { deceptive } from './deception.ts';
import { cacheStats, type CacheOutcome } from './stats.ts';

/** Request headers that can change an upstream's answer without being in the key; dropped unless the key lists them. */
export const UNKEYED_OVERRIDES = [
  'x-original-url', 'x-rewrite-url', 'x-http-method-override', 'x-http-method', 'x-method-override',
  'x-forwarded-scheme', 'x-forwarded-prefix', 'x-host', 'x-original-host',
];

/** Per stored response, what the fast path of CachePolicy.usability needs (entries are immutable once stored). */
interface Memo { defaultTtlMs: number; freshnessMs: number; initialAgeMs: number; noCache: boolean }
const memos = new WeakMap<CachedResponse, Memo>();
const FRESH: Usability = Object.freeze({ use: 'fresh' });

export type Verdict =
  | { store: true; entry: Omit<CachedResponse, 'body'>; vary: readonly string[] }
  | { store: false; reason: string };

/**
 * A route's cache config, compiled once per build: the key spec, the store (opened on first use, so building a
 * config to validate it opens no connection), and the decisions that need the config.
 */
export class CachePolicy {
  readonly route: string;
  readonly spec: CacheKeySpec;
  readonly defaultTtlMs: number;
  readonly maxObjectSize: number;
  readonly statuses: ReadonlySet<number> | undefined;
  readonly storeSetCookie: boolean;
  readonly honourNoCache: boolean;
  readonly coalesce: boolean;
  readonly coalesceTimeoutMs: number;
  readonly tagHeaders: ReadonlySet<string>;
  readonly cacheStatusOff: boolean;
  readonly bypassHeaders: readonly string[];
  readonly bypassCookies: readonly string[];
  readonly bypassQuery: readonly string[];
  /** UNKEYED_OVERRIDES less the headers the key lists: stripped from every request on the route. */
  readonly unkeyedOverrides: readonly string[];
  readonly #openStore: () => CacheStore;
  #store: CacheStore | undefined = undefined;

  constructor(config: CacheConfigT, scope: PluginScope) {
    if (config.store !== 'memory' && scope.redis === undefined) {
      throw new PluginConfigError('store', `is "${config.store}" but the config has no root \`redis\` section: add one (\`redis: { url: "redis://127.0.0.1:6379" }\`), or use \`store: memory\``);
    }
    this.route = scope.route ?? '-';
    const key = config.key;
    const query = key?.query ?? 'all';
    this.spec = {
      query: Array.isArray(query) ? new Set(query) : query,
      headers: (key?.headers ?? []).map((h) => h.toLowerCase()),
      host: key?.host ?? true,
      consumer: key?.consumer ?? false,
    };
    this.defaultTtlMs = parseDuration(config.defaultTtl);
    this.maxObjectSize = parseSize(config.maxObjectSize);
    this.statuses = config.statuses === undefined ? undefined : new Set(config.statuses);
    this.storeSetCookie = config.storeSetCookie;
    this.honourNoCache = config.honourNoCache;
    this.coalesce = config.coalesce;
    this.coalesceTimeoutMs = parseDuration(config.coalesceTimeout);
    this.tagHeaders = new Set(config.surrogateKeyHeaders.map((h) => h.toLowerCase()));
    this.cacheStatusOff = !config.cacheStatus;
    this.bypassHeaders = (config.bypass?.headers ?? []).map((h) => h.toLowerCase());
    this.bypassCookies = config.bypass?.cookies ?? [];
    this.bypassQuery = config.bypass?.query ?? [];
    this.unkeyedOverrides = UNKEYED_OVERRIDES.filter((h) => !this.spec.headers.includes(h));
    const { cache, redis, logger } = scope;
    this.#openStore = () => cacheStore(config.store, cache, redis, logger);
  }

  get storage(): CacheStore {
    return (this.#store ??= this.#openStore());
  }

  /** Whether the request counts as authenticated for RFC 9111 §3.5. */
  authenticated(ctx: RequestContext): boolean {
    return ctx.identity !== undefined || ctx.req.headers.authorization !== undefined;
  }

  /**
   * usability() for a lookup, with a fast path for the common hit: a request without Cache-Control or Pragma and a
   * fresh response without no-cache. What that needs from the stored headers (freshness lifetime, initial age) is
   * parsed once per entry and remembered; everything else takes the full rules.
   */
  usability(ctx: RequestContext, entry: CachedResponse, now: number): UsabilityResult {
    const h = ctx.req.headers;
    if (h['cache-control'] === undefined && h.pragma === undefined) {
      let memo = memos.get(entry);
      if (memo === undefined || memo.defaultTtlMs !== this.defaultTtlMs) {
        const u = usability(this.usabilityInput(ctx, entry, entry.responseTime));
        memo = { defaultTtlMs: this.defaultTtlMs, freshnessMs: u.freshnessMs, initialAgeMs: u.ageMs, noCache: has(responseCacheControl(entry.headers), 'no-cache') };
        memos.set(entry, memo);
      }
      const ageMs = Math.max(0, memo.initialAgeMs + (now - entry.responseTime));
      if (!memo.noCache && ageMs < memo.freshnessMs) return { usability: FRESH, ageMs, freshnessMs: memo.freshnessMs, staleIfErrorMs: 0 };
    }
    return usability(this.usabilityInput(ctx, entry, now));
  }

  usabilityInput(ctx: RequestContext, entry: CachedResponse, now: number): UsabilityInput {
    return {
      status: entry.status, resHeaders: entry.headers, timing: entry, reqHeaders: ctx.req.headers, now,
      defaultTtlMs: this.defaultTtlMs, honourRequestNoCache: this.honourNoCache,
    };
  }

  /** Whether a fresh upstream response may be stored, and the entry (without its body) when it may. */
  decide(
    ctx: RequestContext, status: number, headers: StoredHeaders, tags: string[], requestTime: number, now: number,
    contentLength: number | undefined, method = ctx.method,
  ): Verdict {
    const authenticated = ctx.identity !== undefined;
    const s = storability(method, ctx.req.headers, status, headers, {
      statuses: this.statuses, defaultTtlMs: this.defaultTtlMs, storeSetCookie: this.storeSetCookie,
      keyHasConsumer: this.spec.consumer, authenticated, responseTime: now,
    });
    if (!s.store) return s;
    if (contentLength !== undefined && contentLength > this.maxObjectSize) return { store: false, reason: 'too-large' };
    const cc = responseCacheControl(headers);
    if (explicitLifetimeMs(cc, headers) === undefined && !has(cc, 'public') && deceptive(ctx.path, headers)) {
      return { store: false, reason: 'content-type-mismatch' };
    }
    const entry = this.entry(ctx, status, headers, undefined, tags, requestTime, now);
    if (entry === undefined) return { store: false, reason: 'no-freshness' };
    const vary = varyNames(headers);
    return { store: true, entry, vary: vary === '*' ? [] : vary };
  }

  /** An entry's metadata for these response headers, or undefined when it would expire at once. */
  entry<B extends Buffer | undefined>(
    ctx: RequestContext, status: number, headers: StoredHeaders, body: B, tags: readonly string[], requestTime: number, now: number,
  ): (B extends Buffer ? CachedResponse : Omit<CachedResponse, 'body'>) | undefined {
    const timing = { requestTime, responseTime: now };
    const u = usability({ status, resHeaders: headers, timing, reqHeaders: ctx.req.headers, now, defaultTtlMs: this.defaultTtlMs, honourRequestNoCache: false });
    const ttl = storeTtlMs(u.freshnessMs, headers, u.ageMs);
    if (ttl <= 0) return undefined;
    const cc = responseCacheControl(headers);
    const authShared = has(cc, 'public') || has(cc, 's-maxage') || has(cc, 'must-revalidate');
    const e = { status, headers, requestTime, responseTime: now, tags, authShared, keepUntil: now + ttl, ...(body === undefined ? {} : { body }) };
    return e as B extends Buffer ? CachedResponse : Omit<CachedResponse, 'body'>;
  }

  /** Stores an entry under the primary key, or under its variant when the response varies. */
  store(ctx: RequestContext, primary: string, entry: CachedResponse, vary?: readonly string[]): Promise<void> {
    const names = vary ?? (() => { const v = varyNames(entry.headers); return v === '*' ? [] : v; })();
    const key = names.length > 0 ? variantKey(primary, varySignature(names, ctx.req.headers)) : primary;
    return this.storage.set(primary, key, entry, names).catch(() => {});
  }

  /** This cache's Cache-Status member, or undefined when the route turned the header off. */
  status(entry: CacheStatusEntry): string | undefined {
    return this.cacheStatusOff ? undefined : cacheStatus(entry);
  }

  /** Counts an outcome; with `ctx`, it is also the request's outcome for the access log (`cache` field). */
  count(outcome: CacheOutcome, ctx?: RequestContext): void {
    if (ctx !== undefined) ctx.vars.cache = outcome;
    cacheStats.count(this.route, outcome);
  }
}
