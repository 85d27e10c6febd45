import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import type { RedisConfigT } from '../config/schema/redis.ts';
import { createRedisClient } from '../redis/client.ts';
import { decodeEntry, encodeMeta, type CachedResponse, type Stored } from './entry.ts';
import { pathOf, type CacheStore, type PurgeSelector } from './store.ts';

/** Glob metacharacters of SCAN MATCH, escaped so a purge prefix matches literally. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Responses in Redis, shared by every gateway node. One hash per key: `m` the metadata as JSON and `b` the body as
 * raw bytes (no base64), or `v` the Vary names for a primary key whose responses vary. Each key expires at the
 * entry's `keepUntil` (freshness plus the stale windows). Surrogate keys are sets `<prefix>cache-tag:<tag>` of
 * stored keys. Commands are sent one by one, never as multi-key transactions, so it works on a Cluster unchanged.
 *
 * The cache fails open: a lookup Redis can't answer in `timeout` is a miss, a failed store is dropped, and the
 * outage is logged once.
 */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis' as const;
  readonly #client: Redis | Cluster;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #address: string;
  #failing = false;
  #everReady = false;
  readonly #firstReady: Promise<void>;
  readonly #timeout: number;
  /** The subscriber connection, when a memory tier listens for other nodes' purges. */
  #subscriber: Redis | Cluster | undefined = undefined;
  errors = 0;

  constructor(settings: RedisConfigT, timeoutMs: number, logger: Logger) {
    const conn = createRedisClient(settings, 'expeditor-cache', timeoutMs);
    this.#client = conn.client;
    this.#address = conn.address;
    this.#prefix = `${settings.keyPrefix ?? 'expeditor:'}cache:`;
    this.#logger = logger;
    this.#timeout = timeoutMs;
    this.#client.on('error', () => {});
    this.#client.on('ready', () => {
      this.#everReady = true;
      if (this.#failing) logger.info('cache redis connection ready', { redis: this.#address });
      this.#failing = false;
    });
    this.#firstReady = new Promise<void>((resolve) => this.#client.once('ready', () => resolve()));
  }

  /**
   * Until the first connection is up, a command waits for it (at most `timeout`) rather than failing at once: the
   * store opens on the first request, which would otherwise always miss and never store.
   */
  #ready(): Promise<void> | undefined {
    if (this.#everReady) return undefined;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([this.#firstReady, new Promise<void>((resolve) => { timer = setTimeout(resolve, this.#timeout); })])
      .finally(() => clearTimeout(timer));
  }

  get tagPrefix(): string {
    return `${this.#prefix.slice(0, -1)}-tag:`;
  }

  /** Sets of the keys stored for one path, so that invalidating a path costs what it removes, not a SCAN. */
  get pathPrefix(): string {
    return `${this.#prefix.slice(0, -1)}-path:`;
  }

  async get(key: string): Promise<Stored | undefined> {
    try {
      await this.#ready();
      const h = await this.#client.hgetallBuffer(this.#prefix + key);
      const v = h.v;
      if (v !== undefined) return { kind: 'vary', names: JSON.parse(v.toString()) as string[], keepUntil: Number(h.k?.toString() ?? 0) };
      if (h.m === undefined || h.b === undefined) return undefined;
      return { kind: 'response', entry: decodeEntry(h.m.toString(), h.b) };
    } catch (err) {
      this.#failed(err);
      return undefined;
    }
  }

  async set(primary: string, key: string, entry: CachedResponse, vary: readonly string[]): Promise<void> {
    const c = this.#client;
    const at = Math.ceil(entry.keepUntil);
    try {
      await this.#ready();
      const ops: Promise<unknown>[] = [];
      // A new set has no TTL, and GT treats that as infinite: NX sets the first one, GT extends it later.
      const index = (set: string, member: string) => c.sadd(set, member).then(() => c.pexpireat(set, at, 'NX')).then(() => c.pexpireat(set, at, 'GT'));
      if (vary.length > 0) {
        ops.push(c.hset(this.#prefix + primary, 'v', JSON.stringify(vary), 'k', String(at)).then(() => c.pexpireat(this.#prefix + primary, at)));
        ops.push(index(this.pathPrefix + pathOf(primary), primary));
      }
      ops.push(c.hset(this.#prefix + key, 'm', encodeMeta(entry), 'b', entry.body).then(() => c.pexpireat(this.#prefix + key, at)));
      ops.push(index(this.pathPrefix + pathOf(key), key));
      for (const tag of entry.tags) ops.push(index(this.tagPrefix + tag, key));
      await Promise.all(ops);
    } catch (err) {
      this.#failed(err);
    }
  }

  /** The pub/sub channel on which every purge of this Redis is announced, for the nodes' memory tiers. */
  get purgeChannel(): string {
    return `${this.#prefix.slice(0, -1)}-purge`;
  }

  /**
   * Calls `onPurge` for every purge any node makes of this Redis (this one included), so that memory tiers in front
   * of it drop what was purged at once rather than after their hold time. One subscriber connection per store;
   * ioredis resubscribes by itself after a reconnect.
   */
  listenForPurges(onPurge: (selector: PurgeSelector) => void): void {
    if (this.#subscriber !== undefined) return;
    // A subscriber waits for its connection (offline queue on): it sends nothing a caller waits for.
    const c = this.#client;
    const sub: Redis | Cluster = 'isCluster' in c && c.isCluster ? (c as Cluster).duplicate(undefined, { enableOfflineQueue: true }) : (c as Redis).duplicate({ enableOfflineQueue: true });
    this.#subscriber = sub;
    sub.on('error', () => {});
    sub.on('message', (_channel: string, message: string) => {
      try {
        onPurge(JSON.parse(message) as PurgeSelector);
      } catch {
        // Not ours: ignore.
      }
    });
    void sub.subscribe(this.purgeChannel).catch((err: Error) => this.#failed(err));
  }

  async purge(selector: PurgeSelector): Promise<number> {
    const n = await this.#purge(selector);
    await this.#client.publish(this.purgeChannel, JSON.stringify(selector)).catch((err: Error) => this.#failed(err));
    return n;
  }

  async #purge(selector: PurgeSelector): Promise<number> {
    await this.#ready();
    const c = this.#client;
    if ('tag' in selector || 'path' in selector) {
      const tk = 'tag' in selector ? this.tagPrefix + selector.tag : this.pathPrefix + selector.path;
      const keys = await c.smembers(tk);
      let n = 0;
      for (const k of keys) n += await c.del(this.#prefix + k);
      await c.del(tk);
      return n;
    }
    if ('key' in selector) {
      const n = await c.del(this.#prefix + selector.key);
      return n + await this.#deleteMatching(`${escapeGlob(this.#prefix + selector.key)} v:*`);
    }
    return this.#deleteMatching(`${escapeGlob(this.#prefix + selector.prefix)}*`);
  }

  /** Deletes every key matching a SCAN pattern, on every master of a Cluster. */
  async #deleteMatching(pattern: string): Promise<number> {
    const c = this.#client;
    const nodes: Redis[] = 'nodes' in c && typeof (c as Cluster).nodes === 'function' && (c as Cluster).isCluster ? (c as Cluster).nodes('master') : [c as Redis];
    let removed = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const k of keys) removed += await c.del(k);
      } while (cursor !== '0');
    }
    return removed;
  }

  #failed(err: unknown): void {
    this.errors++;
    if (this.#failing) return;
    this.#failing = true;
    this.#logger.warn('cache redis unavailable: lookups miss and stores are dropped until it answers', {
      redis: this.#address, error: (err as Error).message,
    });
  }

  async close(): Promise<void> {
    this.#subscriber?.disconnect();
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }
}
