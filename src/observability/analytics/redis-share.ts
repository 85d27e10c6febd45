import { hostname } from 'node:os';
import type { Cluster, Redis } from 'ioredis';
import type { RedisConfigT } from '../../config/schema/redis.ts';
import { parseDuration } from '../../config/units.ts';
import type { Logger } from '../../core/logger.ts';
import { createRedisClient } from '../../redis/client.ts';
import { decodeMinute, encodeMinute } from './rollup-codec.ts';
import { MINUTE_MS, RETENTION_MINUTES, type MinuteRollup, type RollupRing } from './rollup.ts';

/** The answer's account of the cluster view: which nodes it holds, and whether Redis answered. */
export interface ClusterView {
  readonly nodes: string[];
  readonly redis: 'up' | 'down';
  /** Why Redis did not answer, or which rollups could not be read. */
  readonly error?: string;
}

let gatewaysInProcess = 0;

/** `<hostname>:<pid>`, and `:<n>` for the n-th further gateway of the process (tests run several). */
export function defaultNodeId(): string {
  const n = gatewaysInProcess++;
  return `${hostname()}:${process.pid}${n === 0 ? '' : `:${n}`}`;
}

/**
 * Shares one node's rollups through Redis. Every `interval` the node writes each minute that changed since its last
 * write (the current one, and the one just closed) to the hash `<keyPrefix>analytics:<minute>`, its node id as the
 * field and the rollup's JSON (rollup-codec.ts) as the value; the key expires 24 hours after the write. A cluster
 * query reads the hashes of the minutes asked for and merges every other node's copy with this node's live rollups.
 *
 * Its own connection, apart from the rate limits': a bulky write or read never queues behind (or in front of) a
 * request's rate-limit check. Nothing here is on the request path: a Redis outage only makes the cluster view hold
 * this node alone, and the minutes not written stay marked and are written once Redis is back (while the ring still
 * has them).
 */
export class RollupShare {
  readonly nodeId: string;
  readonly #client: Redis | Cluster;
  readonly #prefix: string;
  readonly #ring: RollupRing;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  #flushing: Promise<void> | undefined;
  #failing = false;

  constructor(redis: RedisConfigT, intervalMs: number, nodeId: string, ring: RollupRing, logger: Logger) {
    this.nodeId = nodeId;
    this.#prefix = `${redis.keyPrefix ?? 'expeditor:'}analytics:`;
    this.#ring = ring;
    this.#logger = logger;
    // At least a second per command: these are background writes and admin reads, not request-path checks.
    this.#client = createRedisClient(redis, 'expeditor-analytics', Math.max(1000, parseDuration(redis.timeout ?? '50ms'))).client;
    this.#client.on('error', () => {});
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  key(minute: number): string {
    return this.#prefix + String(minute);
  }

  /** Writes the minutes that changed since their last write. Never rejects; a failure is logged once per outage. */
  flush(): Promise<void> {
    return (this.#flushing ??= this.#write().finally(() => (this.#flushing = undefined)));
  }

  async #write(): Promise<void> {
    const now = Math.floor(this.#ring.now() / MINUTE_MS);
    const dirty = this.#ring.minutes(now - RETENTION_MINUTES + 1, now + 1).filter((m) => m.dirty);
    if (dirty.length === 0 || this.#client.status !== 'ready') return;
    // One pipeline per minute: a Cluster runs a pipeline on one node, and each minute's key has its own slot.
    const writes = dirty.map((m) => {
      m.dirty = false;
      const key = this.key(m.minute);
      return this.#client.pipeline().hset(key, this.nodeId, encodeMinute(m)).pexpire(key, RETENTION_MINUTES * MINUTE_MS).exec();
    });
    try {
      for (const results of await Promise.all(writes)) {
        const failed = (results ?? []).find(([err]) => err !== null);
        if (failed !== undefined) throw failed[0];
      }
      this.#ok();
    } catch (err) {
      for (const m of dirty) m.dirty = true;
      this.#failed(err as Error);
    }
  }

  /**
   * Every other node's rollups of the minutes in [from, to), by node id. Rejects when Redis can't answer; a rollup
   * this version can't read is left out and named in `unreadable`.
   */
  async read(from: number, to: number): Promise<{ byNode: Map<string, MinuteRollup[]>; unreadable: string[] }> {
    if (this.#client.status !== 'ready') throw new Error(`redis not connected (${this.#client.status})`);
    const minutes: number[] = [];
    for (let m = from; m < to; m++) minutes.push(m);
    const hashes = await Promise.all(minutes.map((m) => this.#client.hgetall(this.key(m))));
    const byNode = new Map<string, MinuteRollup[]>();
    const unreadable: string[] = [];
    for (const hash of hashes) {
      for (const [node, text] of Object.entries(hash)) {
        if (node === this.nodeId) continue;
        let list = byNode.get(node);
        if (list === undefined) byNode.set(node, (list = []));
        try {
          list.push(decodeMinute(text));
        } catch (err) {
          unreadable.push(`${node}: ${(err as Error).message}`);
        }
      }
    }
    return { byNode, unreadable };
  }

  #ok(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#logger.info('analytics: writing rollups to redis again');
  }

  #failed(err: Error): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#logger.warn('analytics: could not write rollups to redis; the cluster view lacks this node until it can', { error: err.message });
  }

  /** Writes what changed one last time (best effort, bounded by the command timeout), then disconnects. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    this.#client.disconnect();
  }
}
