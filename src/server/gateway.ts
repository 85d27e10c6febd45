import http from 'node:http';
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/schema/index.ts';
import { parseDuration, parseSize } from '../config/units.ts';
import { validateConfig } from '../config/validate.ts';
import { ConfigError } from '../config/errors.ts';
import { ERRORS, problemBody, type ErrorCode } from '../core/errors.ts';
import { stderrLogger, type Logger } from '../core/logger.ts';
import { PROBLEM_CONTENT_TYPE, writeRawReply } from '../core/pipeline.ts';
import { activateRuntime, buildRuntime, retireRuntime, type Runtime } from '../runtime/build.ts';
import { createRequestHandler, createUpgradeHandler, markExpectContinue, type HandlerHost } from './handler.ts';
import { startAdmin } from '../admin/server.ts';
import { adminTokens } from '../admin/auth.ts';
import { closeStateStore } from '../store/open.ts';
import { startInvokeApi, type InvokeApiServer } from '../functions/invoke-api/server.ts';
import { GatewayMetrics } from '../observability/gateway-metrics.ts';
import { GatewayAnalytics } from '../observability/analytics/analytics.ts';
import type { GatewayTracing } from '../observability/tracing/gateway-tracing.ts';
import type { TracingConfigT } from '../config/schema/tracing.ts';
import { randomUUID } from 'node:crypto';
import { STATIC_KEYS } from '../config/static-sections.ts';

export interface GatewayOptions {
  logger?: Logger;
  /**
   * The config file's directory: functions' code paths and a relative SQLite `store.url` are relative to it (default:
   * the working directory).
   */
  baseDir?: string;
  /** Where the config came from, for `reloadFromSource` (SIGHUP, file watch). */
  source?: () => Promise<Config>;
}

/**
 * A running gateway: the proxy listener, the admin listener and the live Runtime. `apply` validates and builds a
 * new Runtime off the hot path and swaps it in with one assignment; requests in flight finish on the one they
 * started with.
 */
export class Gateway implements HandlerHost {
  #runtime: Runtime;
  readonly logger: Logger;
  readonly startedAt = new Date();
  readonly metrics: GatewayMetrics;
  readonly analytics: GatewayAnalytics;
  /** The tracer while `tracing.enabled`, replaced when a reload changes the section; undefined otherwise. */
  tracing: GatewayTracing | undefined;
  draining = false;
  #proxy: http.Server | http2.Http2SecureServer | undefined;
  #admin: http.Server | undefined;
  #invokeApi: InvokeApiServer | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #source: GatewayOptions['source'];
  readonly #baseDir: string | undefined;
  #reloads = 0;
  #reloading: Promise<unknown> = Promise.resolve();

  private constructor(runtime: Runtime, options: GatewayOptions) {
    this.#runtime = runtime;
    this.logger = options.logger ?? stderrLogger;
    this.#source = options.source;
    this.#baseDir = options.baseDir;
    this.metrics = new GatewayMetrics(this, runtime.config.metrics);
    this.analytics = new GatewayAnalytics(runtime.config.analytics, runtime.config.redis, this.logger);
    this.tracing = undefined;
  }

  get runtime(): Runtime {
    return this.#runtime;
  }

  get reloads(): number {
    return this.#reloads;
  }

  /** Client connections open on the proxy listener. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** Validates (if needed), builds and starts listening. Throws ConfigError for an unusable config. */
  static async start(input: unknown, options: GatewayOptions = {}): Promise<Gateway> {
    const logger = options.logger ?? stderrLogger;
    const config = validateConfig(input);
    const runtime = buildRuntime(config, logger, undefined, { baseDir: options.baseDir });
    await activateRuntime(runtime);
    const gw = new Gateway(runtime, options);
    gw.tracing = await tracingFor(undefined, config.tracing, logger);
    try {
      await gw.#listen();
    } catch (err) {
      await gw.stop(0);
      throw err;
    }
    return gw;
  }

  get proxyUrl(): string {
    return urlOf(this.#proxy!, this.#runtime.config.listen?.tls ? 'https' : 'http');
  }

  get adminUrl(): string | undefined {
    return this.#admin ? urlOf(this.#admin, 'http') : undefined;
  }

  /** The Lambda Invoke API's base URL, when `functionsApi.enabled`. */
  get functionsApiUrl(): string | undefined {
    return this.#invokeApi ? urlOf(this.#invokeApi.server, 'http') : undefined;
  }

  /**
   * Validates and builds `input`, then swaps it in. On any error the live runtime is untouched and the error
   * (ConfigError with every issue) is thrown. Static settings (listen, admin) keep their running values.
   */
  async apply(input: unknown): Promise<Runtime> {
    const run = this.#reloading.then(() => this.#apply(input));
    this.#reloading = run.catch(() => {});
    return run;
  }

  async #apply(input: unknown): Promise<Runtime> {
    const validated = validateConfig(input);
    const old = this.#runtime;
    // Static sections keep their running values (the listeners are already bound); say so when they differ.
    const config = { ...validated };
    for (const key of STATIC_KEYS) {
      if (JSON.stringify(validated[key]) !== JSON.stringify(old.config[key])) {
        this.logger.warn(`"${key}" changed: it takes effect after a restart`, { key });
      }
      (config as Record<string, unknown>)[key] = old.config[key];
    }
    const next = buildRuntime(config, this.logger, old, { baseDir: this.#baseDir });
    await activateRuntime(next);
    if (this.draining) {
      for (const u of next.fresh) u.destroy();
      throw new Error('gateway is stopping');
    }
    this.#runtime = next;
    this.#reloads++;
    this.metrics.configure(next.config.metrics);
    this.analytics.configure(next.config.analytics, next.config.redis);
    this.tracing = await tracingFor(this.tracing, next.config.tracing, this.logger);
    this.logger.info('config applied', { hash: next.hash, routes: next.routes.length });
    void retireRuntime(old, next);
    return next;
  }

  /** Reloads from the configured source (file). Errors are logged; the old config keeps serving. */
  async reloadFromSource(): Promise<boolean> {
    if (!this.#source) return false;
    try {
      await this.apply(await this.#source());
      return true;
    } catch (err) {
      this.logger.error('reload refused; the running config keeps serving', {
        issues: (err as { issues?: unknown }).issues, err: (err as { issues?: unknown }).issues ? undefined : err,
      });
      return false;
    }
  }

  /**
   * Graceful stop: stop accepting, answer new requests on open connections with 503 and close them, let requests
   * in flight finish within `graceMs`, then cut what is left.
   */
  async stop(graceMs = parseDuration(this.#runtime.config.server?.shutdownGrace ?? '30s')): Promise<void> {
    this.draining = true;
    const close = (server: { listening: boolean; close(cb: () => void): unknown } | undefined) =>
      server?.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    const proxyClosed = close(this.#proxy);
    (this.#proxy as http.Server | undefined)?.closeIdleConnections?.();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    // The admin API stays up while the proxy drains, so readiness probes see 503 rather than a refused connection.
    await Promise.race([proxyClosed, grace]);
    clearTimeout(timer);
    for (const s of this.#sockets) s.destroy();
    await proxyClosed;
    await this.#invokeApi?.close();
    const adminClosed = close(this.#admin);
    this.#admin?.closeAllConnections();
    await adminClosed;
    await retireRuntime(this.#runtime, undefined);
    await this.analytics.close();
    // The admin API opened the state store on first use (if it did); it asks for it again after this.
    await closeStateStore();
    // Exports the spans of the requests that just finished; a collector that does not answer costs otlp.timeout.
    const tracing = this.tracing;
    this.tracing = undefined;
    await tracing?.shutdown().catch((err: unknown) => this.logger.warn('tracing: final export failed', { err }));
  }

  async #listen(): Promise<void> {
    const config = this.#runtime.config;
    const listen = config.listen ?? { port: 8080, host: '0.0.0.0' };
    const server = config.server;
    const onRequest = createRequestHandler(this, listen.tls ? 'https' : 'http');
    const onUpgrade = createUpgradeHandler(this, listen.tls ? 'https' : 'http');
    const maxHeaderSize = parseSize(server?.maxHeaderBytes ?? '16kb');
    let proxy: http.Server | http2.Http2SecureServer;
    const requestTimeout = parseDuration(server?.requestTimeout ?? '5m');
    // The header section is part of the request, so a shorter requestTimeout bounds it too (and Node refuses
    // headersTimeout > requestTimeout at start).
    const headersTimeout = clampTimeout(parseDuration(server?.headersTimeout ?? '10s'), requestTimeout);
    // Only WebSocket upgrades take the upgrade path; anything else (h2c) is an ordinary request whose Upgrade
    // header is dropped as hop-by-hop.
    const shouldUpgradeCallback = (req: IncomingMessageLike) => String(req.headers.upgrade).toLowerCase() === 'websocket';
    if (listen.tls) {
      proxy = http2.createSecureServer({
        cert: readFileSync(listen.tls.cert),
        key: readFileSync(listen.tls.key),
        allowHTTP1: true,
        ALPNProtocols: listen.tls.http2 === false ? ['http/1.1'] : ['h2', 'http/1.1'],
        ...clientCertificateOptions(listen.tls),
        maxSendHeaderBlockLength: 64 * 1024,
        settings: { maxHeaderListSize: maxHeaderSize, enablePush: false },
      } as http2.SecureServerOptions, onRequest as never);
      // HTTP/1.1 connections on the TLS port (ALPN fallback) are served by Node's HTTP/1 machinery, which reads
      // these limits from the server object: the same slowloris and keep-alive protection as the plain listener.
      const h1 = proxy as unknown as Record<string, unknown>;
      h1.headersTimeout = headersTimeout;
      h1.requestTimeout = requestTimeout;
      h1.keepAliveTimeout = parseDuration(server?.keepAliveTimeout ?? '5s');
      h1.connectionsCheckingInterval = checkingInterval(headersTimeout, requestTimeout);
      h1.shouldUpgradeCallback = shouldUpgradeCallback;
    } else {
      proxy = http.createServer({
        maxHeaderSize,
        insecureHTTPParser: false,
        // checkRequest answers a missing Host with problem+json; Node's own check would send an empty 400.
        requireHostHeader: false,
        joinDuplicateHeaders: false,
        headersTimeout,
        requestTimeout,
        keepAliveTimeout: parseDuration(server?.keepAliveTimeout ?? '5s'),
        connectionsCheckingInterval: checkingInterval(headersTimeout, requestTimeout),
        shouldUpgradeCallback,
      } as http.ServerOptions, onRequest);
      proxy.maxRequestsPerSocket = server?.maxRequestsPerSocket ?? 1000;
      // Node drops headers past maxHeadersCount without a word; count them ourselves (see hygiene.ts).
      proxy.maxHeadersCount = 0;
    }
    proxy.maxConnections = server?.maxConnections ?? 10000;
    proxy.on('upgrade', onUpgrade);
    // `Expect: 100-continue`: Node would send 100 at once; the gateway sends it only when the request is going to be
    // forwarded with its body (a 413 or a 401 is answered without inviting the upload first).
    proxy.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      markExpectContinue(req);
      onRequest(req, res);
    });
    proxy.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.metrics.rejected('expectation_failed');
      const body = problemBody('expectation_failed', 'only "Expect: 100-continue" is supported', randomUUID());
      res.writeHead(417, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    proxy.on('connect', (_req: unknown, socket: Duplex) => rawProblem(socket, 'bad_request', 'CONNECT is not served by the proxy'));
    proxy.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.#clientError(err, socket));
    proxy.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    this.#proxy = proxy;
    await listenOn(proxy, listen.port, listen.host);
    const admin = config.admin;
    if (admin?.enabled !== false) {
      this.#admin = await startAdmin(this, {
        port: admin?.port ?? 8081, host: admin?.host ?? '127.0.0.1', tokens: adminTokens(admin), store: config.store, baseDir: this.#baseDir,
      });
    }
    if (config.functionsApi?.enabled === true) this.#invokeApi = await startInvokeApi(this, config.functionsApi);
    this.logger.info('listening', { proxy: this.proxyUrl, admin: this.adminUrl, hash: this.#runtime.hash });
  }

  #clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const code = err.code ?? '';
    if (code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // A response is under way on this socket: nothing sensible can be written any more.
    if ((socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    let ec: ErrorCode = CLIENT_ERROR_CODES[code] ?? 'bad_request';
    let detail: string | undefined;
    if (code === 'HPE_PAUSED_H2_UPGRADE') detail = 'HTTP/2 with prior knowledge is not served on this listener';
    else if (code.startsWith('HPE_')) {
      detail = `malformed request (${code})`;
      // llhttp reports a bare CR or LF under whatever it expected there (HPE_INVALID_VERSION after the request line,
      // HPE_INVALID_HEADER_TOKEN for the blank line); the byte it stopped at says what it really is.
      if (ec === 'bad_request' && stoppedAtBareLineEnd(err)) ec = 'request_smuggling';
    }
    this.metrics.rejected(ec);
    rawProblem(socket, ec, detail);
  }
}

/**
 * Whether the parser stopped at a line ending other than CRLF: an LF without its CR, or a CR without its LF.
 * `rawPacket` is the chunk being parsed; llhttp's `bytesParsed` is at the offending byte or just past it.
 */
function stoppedAtBareLineEnd(err: Error): boolean {
  const { rawPacket: raw, bytesParsed: at } = err as { rawPacket?: unknown; bytesParsed?: unknown };
  if (!Buffer.isBuffer(raw) || typeof at !== 'number') return false;
  for (let i = Math.max(0, at - 1); i <= at && i < raw.length; i++) {
    if (raw[i] === 0x0a && (i === 0 || raw[i - 1] !== 0x0d)) return true;
    if (raw[i] === 0x0d && i + 1 < raw.length && raw[i + 1] !== 0x0a) return true;
  }
  return false;
}

/**
 * What Node's parser errors mean to the client. Framing errors (how long the message is, where a line or chunk
 * ends) are `request_smuggling`: those are the ones a proxy and an upstream could read two ways. A code not listed
 * here is `bad_request`. The codes are the client's contract (docs/errors.md, docs/limits.md); the tests in
 * test/server/hygiene.test.ts pin them.
 */
const CLIENT_ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  HPE_HEADER_OVERFLOW: 'headers_too_large',
  // A byte no request-target may hold (control, space, DEL, non-ASCII): the same refusal path normalisation gives.
  HPE_INVALID_URL: 'invalid_path',
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout',
  HPE_HEADERS_TIMEOUT: 'request_timeout',
  HPE_INVALID_CONTENT_LENGTH: 'request_smuggling',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'request_smuggling',
  HPE_INVALID_TRANSFER_ENCODING: 'request_smuggling',
  HPE_INVALID_CHUNK_SIZE: 'request_smuggling',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'request_smuggling',
  // A bare CR or LF where CRLF belongs: lenient parsers end the line there, strict ones do not.
  HPE_CR_EXPECTED: 'request_smuggling',
  HPE_LF_EXPECTED: 'request_smuggling',
};

/** headersTimeout, never longer than a (non-zero) requestTimeout. */
function clampTimeout(headers: number, request: number): number {
  return request > 0 && (headers === 0 || headers > request) ? request : headers;
}

/**
 * How often Node looks for connections past headersTimeout/requestTimeout: a 408 comes up to one interval late.
 * A quarter of the shorter timeout keeps that within 25%; 1 s at most (the defaults, 10 s and 5 min, stay at 1 s),
 * 50 ms at least, since every tick walks the list of connections with a request in progress.
 */
function checkingInterval(headers: number, request: number): number {
  const shortest = Math.min(headers > 0 ? headers : Infinity, request > 0 ? request : Infinity);
  return Math.max(50, Math.min(1000, Math.floor(shortest / 4)));
}

type IncomingMessageLike = { headers: Record<string, unknown> };

function rawProblem(socket: Duplex, code: ErrorCode, detail?: string): void {
  const body = problemBody(code, detail, randomUUID());
  writeRawReply(socket, ERRORS[code].status, ERRORS[code].title, ['content-type', PROBLEM_CONTENT_TYPE, 'content-length', String(Buffer.byteLength(body))], body);
}

export function listenOn(server: { listen: (port: number, host: string) => unknown; once: (e: string, f: (err: Error) => void) => unknown; off: (e: string, f: (err: Error) => void) => unknown }, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    (server as http.Server).listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * TLS options for client certificates. `request` verifies a certificate against `clientCa` when one is sent but
 * lets the handshake through either way (the mtls-auth plugin reads `socket.authorized`); `require` fails the
 * handshake without a verified one.
 */
function clientCertificateOptions(tls: NonNullable<NonNullable<Config['listen']>['tls']>): Partial<http2.SecureServerOptions> {
  const mode = tls.clientCertificates ?? 'off';
  if (mode === 'off') return {};
  if (tls.clientCa === undefined) {
    throw new ConfigError([{ path: 'listen.tls.clientCa', message: `is required when clientCertificates is "${mode}": the CAs that sign client certificates` }]);
  }
  const files = typeof tls.clientCa === 'string' ? [tls.clientCa] : tls.clientCa;
  return { requestCert: true, rejectUnauthorized: mode === 'require', ca: files.map((f) => readFileSync(f)) };
}

function urlOf(server: http.Server | http2.Http2SecureServer, scheme: string): string {
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address;
  return `${scheme}://${host}:${a.port}`;
}

/**
 * The tracer for a config's `tracing` section (see reconfigureTracing). The OpenTelemetry SDK and its exporters are
 * loaded only when tracing is, or was, on: a gateway that never traces never loads them.
 */
async function tracingFor(current: GatewayTracing | undefined, config: TracingConfigT | undefined, logger: Logger): Promise<GatewayTracing | undefined> {
  if (current === undefined && config?.enabled !== true) return undefined;
  const { reconfigureTracing } = await import('../observability/tracing/gateway-tracing.ts');
  return reconfigureTracing(current, config, logger);
}
