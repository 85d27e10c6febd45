/**
 * The Lambda Runtime API (2018-06-01) for ONE sandbox, on 127.0.0.1 and a port of its own (so the port identifies
 * the sandbox and no request needs a sandbox id). The runtime long-polls `next`; the gateway `dispatch`es one
 * invocation at a time; the runtime answers with `response` or `error`. Status codes are AWS's: 202 accepted,
 * 400 an unknown request id, 403 a call out of turn (a second answer, `init/error` after init), 413 a payload over
 * 6 MB, 404 an unknown path. Contract: `onNext` fires on every `next` call (the first one ends init), and each
 * dispatched invocation gets exactly one of `onResponse` / `onError` / `onTooLarge`, unless the sandbox dies first.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_RESPONSE_BYTES, postedError, type ErrorPayload } from './runtime-errors.ts';

const PREFIX = '/2018-06-01/runtime/';
const NEXT = `${PREFIX}invocation/next`;
const INVOCATION = `${PREFIX}invocation/`;
const INIT_ERROR = `${PREFIX}init/error`;
const ACCEPTED = '{"status":"OK"}';

export interface RuntimeInvocation {
  requestId: string;
  payload: Buffer;
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId?: string;
  clientContext?: string;
  cognitoIdentity?: string;
}

export interface RuntimeApiEvents {
  onNext(): void;
  onResponse(requestId: string, body: Buffer): void;
  onError(requestId: string, error: ErrorPayload): void;
  onTooLarge(requestId: string): void;
  onInitError(error: ErrorPayload): void;
}

export class RuntimeApiServer {
  readonly #server: Server;
  readonly #events: RuntimeApiEvents;
  /** A `next` call waiting for work. */
  #waiting: ServerResponse | undefined;
  /** Dispatched but not yet fetched by `next`. */
  #queued: RuntimeInvocation | undefined;
  /** Fetched, not yet answered. */
  #current: string | undefined;
  /** The last answered id: a second answer to it is 403, not 400. */
  #answered: string | undefined;
  #initDone = false;

  constructor(events: RuntimeApiEvents) {
    this.#events = events;
    this.#server = createServer({ keepAlive: true, requestTimeout: 0, keepAliveTimeout: 0 }, (req, res) => this.#route(req, res));
  }

  listen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', resolve);
    });
  }

  /** `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`. */
  get address(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `127.0.0.1:${port}`;
  }

  /** Hands an invocation to the runtime: at once when it is waiting in `next`, else on its next `next`. */
  dispatch(invocation: RuntimeInvocation): void {
    const res = this.#waiting;
    if (res === undefined || res.destroyed) {
      this.#waiting = undefined;
      this.#queued = invocation;
      return;
    }
    this.#waiting = undefined;
    this.#send(res, invocation);
  }

  close(): void {
    this.#server.close();
    this.#server.closeAllConnections();
  }

  #send(res: ServerResponse, inv: RuntimeInvocation): void {
    this.#current = inv.requestId;
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': inv.payload.length,
      'Lambda-Runtime-Aws-Request-Id': inv.requestId,
      'Lambda-Runtime-Deadline-Ms': inv.deadlineMs,
      'Lambda-Runtime-Invoked-Function-Arn': inv.invokedFunctionArn,
    };
    if (inv.traceId !== undefined) headers['Lambda-Runtime-Trace-Id'] = inv.traceId;
    if (inv.clientContext !== undefined) headers['Lambda-Runtime-Client-Context'] = inv.clientContext;
    if (inv.cognitoIdentity !== undefined) headers['Lambda-Runtime-Cognito-Identity'] = inv.cognitoIdentity;
    res.writeHead(200, headers);
    res.end(inv.payload);
  }

  #route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const m = url.startsWith(INVOCATION) ? /^([^/]+)\/(response|error)$/.exec(url.slice(INVOCATION.length)) : null;
    const expected = url === NEXT ? 'GET' : url === INIT_ERROR || m !== null ? 'POST' : undefined;
    if (expected === undefined) return reply(res, 404, 'NotFound', `no route for ${req.method} ${url}`);
    if (req.method !== expected) return reply(res, 405, 'MethodNotAllowed', `use ${expected} for ${url}`);
    if (url === NEXT) return this.#next(res);
    if (m === null) {
      return readBody(req, res, (body) => {
        if (this.#initDone) return reply(res, 403, 'InvalidStateTransition', 'init/error after init');
        this.#initDone = true;
        replyAccepted(res);
        this.#events.onInitError(postedError(body ?? Buffer.alloc(0), header(req, 'lambda-runtime-function-error-type')));
      });
    }
    let id: string;
    try {
      id = decodeURIComponent(m[1]!);
    } catch {
      return reply(res, 400, 'InvalidRequestID', 'malformed request id');
    }
    if (id !== this.#current) {
      req.resume();
      return id === this.#answered
        ? reply(res, 403, 'InvalidStateTransition', `invocation ${id} was already answered`)
        : reply(res, 400, 'InvalidRequestID', `unknown request id ${id}`);
    }
    readBody(req, res, (body) => {
      if (id !== this.#current) return reply(res, 403, 'InvalidStateTransition', `invocation ${id} was already answered`);
      this.#current = undefined;
      this.#answered = id;
      if (body === undefined) {
        reply(res, 413, 'RequestEntityTooLarge', `Exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`);
        return this.#events.onTooLarge(id);
      }
      replyAccepted(res);
      if (m[2] === 'response') this.#events.onResponse(id, body);
      else this.#events.onError(id, postedError(body, header(req, 'lambda-runtime-function-error-type')));
    });
  }

  #next(res: ServerResponse): void {
    this.#initDone = true;
    this.#events.onNext();
    const queued = this.#queued;
    if (queued !== undefined) {
      this.#queued = undefined;
      return this.#send(res, queued);
    }
    if (this.#waiting !== undefined && !this.#waiting.destroyed) {
      reply(this.#waiting, 409, 'ConcurrentNext', 'a newer next call replaced this one');
    }
    this.#waiting = res;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function replyAccepted(res: ServerResponse): void {
  res.writeHead(202, { 'Content-Type': 'application/json', 'Content-Length': ACCEPTED.length });
  res.end(ACCEPTED);
}

function reply(res: ServerResponse, status: number, errorType: string, errorMessage: string): void {
  const body = JSON.stringify({ errorMessage, errorType });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Reads a posted payload; `undefined` when it is over MAX_RESPONSE_BYTES (the rest is read and dropped, so the
 * runtime's write completes and it sees the 413 instead of a reset connection).
 */
function readBody(req: IncomingMessage, res: ServerResponse, done: (body: Buffer | undefined) => void): void {
  const declared = Number(req.headers['content-length'] ?? NaN);
  let tooLarge = declared > MAX_RESPONSE_BYTES;
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    if (tooLarge) return;
    size += c.length;
    if (size > MAX_RESPONSE_BYTES) {
      tooLarge = true;
      chunks.length = 0;
    } else chunks.push(c);
  });
  req.on('end', () => done(tooLarge ? undefined : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
  req.on('error', () => res.destroy());
}
