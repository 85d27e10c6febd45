import type { Cluster, Redis } from 'ioredis';
import { createRedisClient } from '../redis/client.ts';
import type { Logger } from '../core/logger.ts';
import type { RedisConfigT } from '../config/schema/redis.ts';
import { LIMITS_SCRIPT } from './redis-script.ts';
import { StoreUnavailable, type LimitAlgorithm, type LimitCheck, type LimitState, type LimitStore } from './types.ts';

/** Keys of one call that Redis Cluster could not evaluate together: a bug in how the policy builds its keys. */
export class KeyLayoutError extends Error {}

/** The script as a client command: `expeditorLimits(numKeys, ...keys, ...args)`. */
interface LimitsCommand {
  expeditorLimits(numKeys: number, ...args: string[]): Promise<string[]>;
}

/** How long a Cluster's nodes must go without an error before a successful call ends an outage. */
const CLUSTER_QUIET_MS = 5000;

const ALGORITHM_CODES: Record<LimitAlgorithm, string> = { 'token-bucket': 't', 'sliding-window': 's', calendar: 'c' };

/**
 * The hash tag Redis Cluster hashes a key by: the text between the first "{" and the next "}" when not empty,
 * else the whole key.
 */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}


/**
 * The counters of every gateway process and node in one Redis (or Redis Cluster). A `hit` or `peek` is one round
 * trip: one script (EVALSHA; the first call on a connection, or after NOSCRIPT, sends the script itself) evaluates
 * every check of the call and writes the counters only if all allow, so a call is atomic however many gateways
 * share the counters.
 *
 * The gateway's clock, never Redis's: `now` is passed in and the script runs the same arithmetic as the local store,
 * so the numbers are the local store's exactly. Gateways sharing a Redis must keep their clocks NTP-synced: a node
 * running ahead starts windows early, a node running behind sees its peers' windows as foreign.
 *
 * Key layout (the contract with policies): the stored key is `${keyPrefix}${check.key}`. Every key of one call must
 * carry the same hash tag `{…}` (the client's identity, e.g. `rl:{route:consumer}:second`,
 * `rl:{route:consumer}:hour`), so that a Cluster can run the call on one node and clients spread over the masters.
 * A call with one check may omit the tag. A call whose keys' tags differ is refused with KeyLayoutError, on a single
 * Redis as on a Cluster, so a layout that works in development also works on a Cluster. A `keyPrefix` containing a
 * tag puts every key in one slot (legal, but no spreading).
 *
 * Failures: a command that gets no answer within `timeout`, or that can't be sent (connection down, Cluster not
 * ready), rejects with StoreUnavailable at once: the client never queues commands while offline and never retries
 * a sent one (a retried hit could count twice). The connection comes back by itself (back-off 100 ms → 2 s).
 */
export class RedisStore implements LimitStore {
  readonly kind = 'redis' as const;
  readonly #client: Redis | Cluster;
  readonly #prefix: string;
  readonly #timeout: number;
  readonly #cluster: boolean;
  readonly #logger: Logger;
  readonly #address: string;
  /** Resolves on the first `ready`: until then, a call waits for it (at most `timeout`) instead of failing, as long as
   * no connection attempt has failed yet. */
  readonly #firstReady: Promise<void>;
  #everReady = false;
  #lastError: Error | undefined;
  #lastErrorAt = 0;
  /** Whether the connection is down since it last answered (connection losses are logged once per outage). */
  #failing = false;
  #closed = false;

  constructor(settings: RedisConfigT, logger: Logger) {
    this.#prefix = settings.keyPrefix ?? 'expeditor:';
    this.#logger = logger;
    const conn = createRedisClient(settings, 'expeditor-limits');
    this.#client = conn.client;
    this.#cluster = conn.cluster;
    this.#address = conn.address;
    this.#timeout = conn.timeout;
    if (this.#cluster) this.#client.on('node error', (err: Error) => this.#onError(err));
    if (this.#cluster && this.#prefix.includes('{')) {
      logger.warn('redis keyPrefix contains a hash tag: every rate-limit key lands in one Cluster slot', { keyPrefix: this.#prefix });
    }
    this.#client.defineCommand('expeditorLimits', { lua: LIMITS_SCRIPT });
    this.#client.on('error', (err: Error) => this.#onError(err));
    this.#client.on('close', () => this.#lost());
    this.#client.on('ready', () => {
      this.#everReady = true;
      this.#recovered();
    });
    this.#firstReady = new Promise<void>((resolve) => this.#client.once('ready', () => resolve()));
  }

  #onError(err: Error): void {
    this.#lastError = err;
    this.#lastErrorAt = Date.now();
    this.#lost();
  }

  /** The connection is down (an error, or closed under us): logged once per outage. */
  #lost(): void {
    if (this.#closed || this.#failing) return;
    this.#failing = true;
    const err = this.#lastError;
    this.#logger.warn('redis connection lost; reconnecting', {
      redis: this.#address, ...(err ? { error: err.message, code: (err as NodeJS.ErrnoException).code } : {}),
    });
  }

  /** Answers again (a `ready`, or for a Cluster, whose `ready` comes once, a command that succeeded). */
  #recovered(): void {
    this.#lastError = undefined;
    if (!this.#failing) return;
    this.#failing = false;
    this.#logger.info('redis connection ready', { redis: this.#address });
  }

  hit(checks: readonly LimitCheck[], now: number): Promise<readonly LimitState[]> {
    return this.#call(checks, now, '1');
  }

  peek(checks: readonly LimitCheck[], now: number): Promise<readonly LimitState[]> {
    return this.#call(checks, now, '0');
  }

  async #call(checks: readonly LimitCheck[], now: number, mode: '1' | '0'): Promise<readonly LimitState[]> {
    const n = checks.length;
    if (n === 0) return [];
    const args: string[] = new Array(n + 2 + 5 * n);
    let tag: string | undefined;
    for (let i = 0; i < n; i++) {
      const check = checks[i]!;
      const key = this.#prefix + check.key;
      if (n > 1) {
        const t = hashTag(key);
        if (tag === undefined) tag = t;
        else if (t !== tag) throw this.#layoutError(checks);
      }
      args[i] = key;
      const o = n + 2 + 5 * i;
      args[o] = ALGORITHM_CODES[check.spec.algorithm];
      args[o + 1] = String(check.spec.limit);
      args[o + 2] = String(check.spec.intervalMs);
      args[o + 3] = check.period === undefined ? '0' : String(check.period.start);
      args[o + 4] = check.period === undefined ? '0' : String(check.period.end);
    }
    args[n] = mode;
    args[n + 1] = String(now);
    if (this.#closed) throw new StoreUnavailable('redis store closed');
    if (!this.#everReady) {
      // Still opening the first connection: worth waiting for (requests at startup), unless it already failed.
      if (this.#lastError !== undefined) throw this.#unavailable(new Error('not connected'));
      await this.#awaitFirstReady();
    }
    let reply: string[];
    try {
      const pending = (this.#client as unknown as LimitsCommand).expeditorLimits(n, ...args);
      reply = this.#cluster ? await deadline(pending, this.#timeout) : await pending;
    } catch (err) {
      throw this.#unavailable(err as Error);
    }
    // A Cluster with one master down still answers for the others' slots: call it recovered once its nodes have been
    // quiet for a while, not at the first success (that would log a loss and a recovery at every reconnect attempt).
    if (this.#failing && (!this.#cluster || Date.now() - this.#lastErrorAt > CLUSTER_QUIET_MS)) this.#recovered();
    const states: LimitState[] = new Array(n);
    for (let i = 0; i < n; i++) {
      states[i] = {
        allowed: reply[4 * i] === '1',
        limit: checks[i]!.spec.limit,
        remaining: Number(reply[4 * i + 1]),
        resetMs: Number(reply[4 * i + 2]),
        retryAfterMs: Number(reply[4 * i + 3]),
      };
    }
    return states;
  }

  async #awaitFirstReady(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      this.#firstReady.then(() => true),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), this.#timeout); }),
    ]);
    clearTimeout(timer);
    if (!ready) throw this.#unavailable(new Error(`not connected within ${this.#timeout} ms`));
  }

  #unavailable(err: Error): StoreUnavailable {
    const last = this.#lastError !== undefined && this.#lastError !== err ? ` (connection: ${this.#lastError.message})` : '';
    return new StoreUnavailable(`redis ${this.#address}: ${err.message}${last}`, { cause: err });
  }

  #layoutError(checks: readonly LimitCheck[]): KeyLayoutError {
    return new KeyLayoutError(
      `rate-limit keys of one call must share one hash tag "{…}" (one Redis Cluster slot): ${checks.map((c) => this.#prefix + c.key).join(', ')}`,
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the connection is up now (readiness probes; no round trip). */
  get connected(): boolean {
    return !this.#closed && this.#client.status === 'ready';
  }

  /** Waits until the connection is ready (tests; startup checks). Rejects after `ms`. */
  async ready(ms = 5000): Promise<void> {
    if (this.#client.status === 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => this.#client.once('ready', () => resolve())),
        new Promise<void>((_, reject) => { timer = setTimeout(() => reject(new StoreUnavailable(`redis ${this.#address}: not ready within ${ms} ms`)), ms); }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection (QUIT when it is up, so pending replies arrive; a plain disconnect otherwise). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = this.#client;
    if (client.status === 'ready') {
      try {
        await deadline(client.quit(), Math.max(this.#timeout, 500));
        return;
      } catch {
        // fall through: drop it
      }
    }
    client.disconnect();
  }
}

/** Rejects when `p` has not settled within `ms`. */
async function deadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
