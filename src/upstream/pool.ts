import { Pool, buildConnector, errors } from 'undici';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { UpstreamConfigT } from '../config/schema/index.ts';
import { parseDuration } from '../config/units.ts';

export interface Target {
  readonly origin: string;
  readonly weight: number;
  readonly pool: Pool;
  /** Smooth weighted round-robin state (nginx's algorithm). */
  current: number;
}

export interface UpstreamTimeouts {
  connect: number;
  response: number;
  idle: number;
  total: number;
}

const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connect: 5000, response: 30000, idle: 30000, total: 0 };

/**
 * A named pool of targets, each with its own undici keep-alive Pool. Built once per config hash: a reload that
 * leaves an upstream's config unchanged reuses it, so connections stay warm; a removed one is closed after the
 * requests in flight on it finish.
 */
export class Upstream {
  readonly name: string;
  readonly hash: string;
  readonly targets: readonly Target[];
  readonly timeouts: UpstreamTimeouts;
  readonly #totalWeight: number;
  readonly #single: Target | undefined;

  constructor(name: string, config: UpstreamConfigT) {
    this.name = name;
    this.hash = upstreamHash(config);
    const t = config.timeouts;
    this.timeouts = t
      ? { connect: parseDuration(t.connect), response: parseDuration(t.response), idle: parseDuration(t.idle), total: parseDuration(t.total) }
      : DEFAULT_TIMEOUTS;
    const keepAlive = parseDuration(config.keepAliveTimeout);
    this.targets = config.targets.map((tc) => {
      const origin = new URL(tc.url).origin;
      return {
        origin,
        weight: tc.weight,
        current: 0,
        pool: new Pool(origin, {
          connections: config.connections,
          pipelining: config.pipelining,
          keepAliveTimeout: keepAlive,
          keepAliveMaxTimeout: Math.max(keepAlive, 600_000),
          connect: exactConnector(this.timeouts.connect),
          headersTimeout: this.timeouts.response,
          bodyTimeout: this.timeouts.idle,
          // The gateway enforces its own limits on what it relays; undici's defaults would cut large headers.
          maxHeaderSize: 64 * 1024,
        }),
      };
    });
    this.#totalWeight = this.targets.reduce((s, t) => s + t.weight, 0);
    const live = this.targets.filter((t) => t.weight > 0);
    this.#single = live.length === 1 ? live[0] : undefined;
  }

  /** Next target by smooth weighted round-robin; undefined when every weight is 0. */
  pick(): Target | undefined {
    if (this.#single !== undefined) return this.#single;
    let best: Target | undefined;
    for (const t of this.targets) {
      if (t.weight === 0) continue;
      t.current += t.weight;
      if (best === undefined || t.current > best.current) best = t;
    }
    if (best !== undefined) best.current -= this.#totalWeight;
    return best;
  }

  /** Waits for requests in flight, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.pool.close().catch(() => {})));
  }

  destroy(): void {
    for (const t of this.targets) t.pool.destroy().catch(() => {});
  }
}

/**
 * undici's connector with the connect timeout on a native timer. undici's own runs on its coarse timer wheel
 * (half-second ticks), which lets a 1 s timeout fire anywhere up to 1.5 s. Runs once per new connection.
 */
function exactConnector(timeout: number): buildConnector.connector {
  // At run time undici's connector returns the socket it opens; its typings say void.
  const connect = buildConnector({ timeout: 0 }) as unknown as (o: buildConnector.Options, cb: buildConnector.Callback) => Socket;
  if (timeout <= 0) return connect;
  return (options, callback) => {
    let timer: NodeJS.Timeout | undefined = undefined;
    let settled = false;
    const socket = connect(options, (...args) => {
      settled = true;
      clearTimeout(timer);
      callback(...args);
    });
    if (!settled) timer = setTimeout(onConnectTimeout, timeout, socket, timeout);
  };
}

function onConnectTimeout(socket: Socket, timeout: number): void {
  // The connector reports the error through its callback (the socket's 'error' event): undici fails the requests
  // queued for this connection with UND_ERR_CONNECT_TIMEOUT.
  socket.destroy(new errors.ConnectTimeoutError(`connect timeout (${timeout} ms)`));
}

export function upstreamHash(config: UpstreamConfigT): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}
