import http from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { ConfigError } from '../config/errors.ts';
import { parseConfigText } from '../config/load.ts';
import { validateConfig } from '../config/validate.ts';
import { ERRORS, PROBLEM_TYPE_BASE, type ErrorCode } from '../core/errors.ts';
import { PROBLEM_CONTENT_TYPE } from '../core/pipeline.ts';
import type { Runtime } from '../runtime/build.ts';
import { listenOn } from '../server/gateway.ts';
import { VERSION } from '../version.ts';

/** What the admin API needs from the gateway. */
export interface AdminHost {
  readonly runtime: Runtime;
  readonly startedAt: Date;
  readonly reloads: number;
  apply(input: unknown): Promise<Runtime>;
}

export interface AdminOptions {
  port: number;
  host: string;
  token: string | undefined;
}

const MAX_BODY = 5 * 1024 * 1024;

type Handler = (req: http.IncomingMessage, body: Buffer) => Promise<[number, unknown]> | [number, unknown];

/**
 * The admin API: its own listener (loopback by default), never the proxy port. When a token is configured every
 * request must carry it as a bearer token; config validation refuses a non-loopback listener without one.
 */
export async function startAdmin(host: AdminHost, options: AdminOptions): Promise<http.Server> {
  const tokenHash = options.token === undefined ? undefined : sha256(options.token);
  const routes: Record<string, Handler> = {
    'GET /status': () => {
      const rt = host.runtime;
      return [200, {
        version: VERSION,
        uptimeSeconds: Math.round((Date.now() - host.startedAt.getTime()) / 1000),
        configHash: rt.hash,
        configLoadedAt: rt.createdAt.toISOString(),
        reloads: host.reloads,
        counts: { routes: rt.routes.length, upstreams: rt.upstreams.size, targets: [...rt.upstreams.values()].reduce((n, u) => n + u.targets.length, 0) },
      }];
    },
    'GET /routes': () => {
      const rt = host.runtime;
      return [200, {
        routes: rt.config.routes.map((rc, i) => ({
          name: rc.name,
          match: rc.match,
          priority: rc.priority,
          upstream: rc.upstream,
          plugins: rt.routes[i]!.chain.plugins,
        })),
      }];
    },
    'POST /config/validate': (req, body) => {
      try {
        const config = validateConfig(parseBody(req, body).value);
        return [200, { valid: true, routes: config.routes.length, upstreams: Object.keys(config.upstreams ?? {}).length }];
      } catch (err) {
        if (err instanceof ConfigError) return [200, { valid: false, errors: err.issues }];
        throw err;
      }
    },
    'PUT /config': async (req, body) => {
      const rt = await host.apply(parseBody(req, body).value);
      return [200, { applied: true, configHash: rt.hash, routes: rt.routes.length }];
    },
  };

  const server = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000 }, (req, res) => {
    void handle(req, res);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    if (tokenHash !== undefined && !authorized(req.headers.authorization, tokenHash)) {
      return send(res, 401, problem('unauthorized', 'admin API requires a bearer token'), { 'www-authenticate': 'Bearer realm="expeditor-admin"' });
    }
    const path = (req.url ?? '/').split('?')[0];
    const handler = routes[`${req.method} ${path}`];
    if (handler === undefined) {
      const allowed = Object.keys(routes).filter((k) => k.endsWith(` ${path}`)).map((k) => k.split(' ')[0]!);
      if (allowed.length > 0) return send(res, 405, problem('method_not_allowed'), { allow: allowed.join(', ') });
      return send(res, 404, problem('route_not_found', `no admin endpoint ${path}`));
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return send(res, 413, problem('payload_too_large', `admin request bodies are limited to ${MAX_BODY} bytes`), { connection: 'close' });
    }
    try {
      const [status, payload] = await handler(req, body);
      send(res, status, payload);
    } catch (err) {
      if (err instanceof ConfigError) {
        return send(res, 400, { ...problem('bad_request', 'invalid config; the running config keeps serving'), errors: err.issues });
      }
      send(res, 500, problem('internal_error'));
    }
  }

  await listenOn(server, options.port, options.host);
  return server;
}

function parseBody(req: http.IncomingMessage, body: Buffer) {
  if (body.length === 0) throw new ConfigError([{ path: '', message: 'request body is empty: send the config as YAML or JSON' }]);
  void req;
  return parseConfigText(body.toString('utf8'), 'admin request');
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.pause();
        reject(new Error('too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function problem(code: ErrorCode, detail?: string) {
  const e = ERRORS[code];
  return { type: PROBLEM_TYPE_BASE + code, title: e.title, status: e.status, code, ...(detail ? { detail } : {}) };
}

function send(res: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) {
  const body = JSON.stringify(payload);
  const type = status >= 400 ? PROBLEM_CONTENT_TYPE : 'application/json';
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time comparison of hashes, so the token's length and content don't leak through timing. */
function authorized(header: string | undefined, tokenHash: Buffer): boolean {
  if (header === undefined || !/^Bearer /i.test(header)) return false;
  return timingSafeEqual(sha256(header.slice(7).trim()), tokenHash);
}
