import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway } from '../../src/server/gateway.ts';
import { silentLogger, type Logger } from '../../src/core/logger.ts';

export interface TestGateway {
  gateway: Gateway;
  /** Proxy base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  adminUrl: string | undefined;
  close(): Promise<void>;
}

/**
 * Starts an in-process gateway on free ports (proxy and, unless disabled, admin) for the given config object.
 * `listen`/`admin` ports default to 0 and hosts to 127.0.0.1. Without a `store`, the state store (which the admin
 * API opens on first use, to record audit entries) is a SQLite file in a temp directory removed by close().
 */
export async function startGateway(config: Record<string, unknown>, options: { logger?: Logger } = {}): Promise<TestGateway> {
  const dir = config.store === undefined ? await mkdtemp(join(tmpdir(), 'expeditor-gw-')) : undefined;
  const full = {
    ...config,
    listen: { port: 0, host: '127.0.0.1', ...(config.listen as object | undefined) },
    admin: { port: 0, host: '127.0.0.1', ...(config.admin as object | undefined) },
    ...(dir === undefined ? {} : { store: { url: `sqlite:${join(dir, 'state.db')}` } }),
  };
  const removeDir = () => (dir === undefined ? Promise.resolve() : rm(dir, { recursive: true, force: true }));
  let gateway: Gateway;
  try {
    gateway = await Gateway.start(full, { logger: options.logger ?? silentLogger });
  } catch (err) {
    await removeDir();
    throw err;
  }
  return {
    gateway,
    url: gateway.proxyUrl,
    adminUrl: gateway.adminUrl,
    close: async () => {
      await gateway.stop(0);
      await removeDir();
    },
  };
}

export interface TestUpstream {
  url: string;
  port: number;
  server: http.Server;
  /** Requests received so far. */
  readonly requests: http.IncomingMessage[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on a free loopback port. The default handler echoes the request as JSON:
 * { method, url, headers, rawHeaders, body } (body as a UTF-8 string).
 */
export async function startUpstream(handler?: http.RequestListener): Promise<TestUpstream> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    if (handler) return handler(req, res);
    echo(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.stringify({
      method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString('utf8'),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

/** A config with one upstream and the given routes (each route defaults to that upstream). */
export function simpleConfig(upstreamUrl: string, routes: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  return {
    upstreams: { up: { targets: [{ url: upstreamUrl }] } },
    routes: routes.map((r) => ({ upstream: 'up', ...r })),
    ...extra,
  };
}

/** The statuses of `n` requests sent one after another (bodies read, so connections are reused). */
export async function statuses(url: string, n: number, init: RequestInit = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}
