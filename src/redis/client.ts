import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisConfigT } from '../config/schema/redis.ts';
import { parseDuration } from '../config/units.ts';

/** Reconnect after 100 ms, doubling up to 2 s, with jitter so a fleet of gateways does not reconnect in step. */
export function backoff(times: number): number {
  return Math.min(100 * 2 ** Math.min(times - 1, 5), 2000) + Math.floor(Math.random() * 100);
}

function seedNode(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port === '' ? 6379 : Number(u.port) };
}

export interface RedisConnection {
  client: Redis | Cluster;
  cluster: boolean;
  /** host:port (comma-separated seeds for a Cluster), for logs: never the password. */
  address: string;
  /** The per-command timeout in ms. */
  timeout: number;
}

/**
 * A client for the root `redis` settings, as every part of the gateway that uses Redis wants it: commands never
 * queue while the connection is down and a sent command is never replayed (the caller's failure policy applies at
 * once), each command has `timeout`, and the connection comes back by itself with back-off.
 */
export function createRedisClient(settings: RedisConfigT, name: string, timeoutMs?: number): RedisConnection {
  const timeout = timeoutMs ?? parseDuration(settings.timeout ?? '50ms');
  const connectTimeout = parseDuration(settings.connectTimeout ?? '2s');
  const common: RedisOptions = {
    commandTimeout: timeout,
    connectTimeout,
    // A connection that stays silent this long while replies are owed is dropped and reopened: a black-holed
    // Redis (no RST) would otherwise keep collecting timed-out commands until TCP gives up, minutes later.
    socketTimeout: Math.max(1000, connectTimeout),
    // Never send a command twice: one in flight when the connection drops is failed, not replayed on reconnect.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // RESP2: nothing here needs RESP3, and it spares the HELLO exchange on every (re)connect.
    protocol: 2,
    connectionName: name,
  };
  if (settings.cluster !== undefined && settings.cluster.length > 0) {
    const first = new URL(settings.cluster[0]!);
    const redisOptions: ClusterOptions['redisOptions'] = {
      ...common,
      ...(first.username !== '' ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password !== '' ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    };
    const client = new Cluster(settings.cluster.map(seedNode), {
      redisOptions,
      enableOfflineQueue: false,
      clusterRetryStrategy: backoff,
      // Redirections and CLUSTERDOWN retries must not outlast the caller's deadline.
      retryDelayOnFailover: Math.min(100, timeout),
      retryDelayOnClusterDown: Math.min(100, timeout),
      retryDelayOnTryAgain: Math.min(100, timeout),
      slotsRefreshTimeout: connectTimeout,
    });
    const address = settings.cluster.map((u) => { const n = seedNode(u); return `${n.host}:${n.port}`; }).join(',');
    return { client, cluster: true, address, timeout };
  }
  const url = settings.url ?? 'redis://127.0.0.1:6379';
  const u = new URL(url);
  const client = new Redis(url, { ...common, enableOfflineQueue: false, retryStrategy: backoff });
  return { client, cluster: false, address: `${u.hostname}:${u.port || 6379}`, timeout };
}
