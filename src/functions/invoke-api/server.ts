import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { BlockList } from 'node:net';
import { Value } from '@sinclair/typebox/value';
import { FunctionsApiConfig, type FunctionsApiConfigT } from '../../config/schema/functions-api.ts';
import { parseDuration } from '../../config/units.ts';
import type { Logger } from '../../core/logger.ts';
import { blockList, type Runtime } from '../../runtime/build.ts';
import { listenOn } from '../../server/gateway.ts';
import { LocalFunction } from '../local/local-function.ts';
import { InvokeError, type FunctionInvoker, type InvokeRequest, type InvokeResult } from '../types.ts';
import {
  accessDenied, invalidParameter, missingToken, notFound, sendAwsError, serviceError, throttled, tooLarge, unknownOperation, type AwsError,
} from './aws-answers.ts';
import { EventInvocations } from './event-invocations.ts';
import { functionTarget, LATEST } from './function-name.ts';
import { InvokeSignatures } from './signature.ts';

/** Lambda's payload limits: 6 MB for a synchronous invocation, 256 KB for an asynchronous one. */
export const SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024;
export const EVENT_PAYLOAD_LIMIT = 256 * 1024;

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const INVOCATION_TYPES = new Set(['RequestResponse', 'Event', 'DryRun']);

/** What the Invoke API reads from the gateway on each request: the live runtime (its `functions`) and the log. */
export interface InvokeApiHost {
  readonly runtime: Runtime;
  readonly logger: Logger;
}

export interface InvokeApiServer {
  readonly server: http.Server;
  close(): Promise<void>;
}

/**
 * The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) for the local functions of the live
 * runtime, on a listener of its own: its SigV4 `Authorization` would clash with the admin API's bearer token.
 */
export async function startInvokeApi(host: InvokeApiHost, section: Partial<FunctionsApiConfigT>): Promise<InvokeApiServer> {
  const config = Value.Default(FunctionsApiConfig, structuredClone(section)) as FunctionsApiConfigT;
  const signatures = config.credentials.length > 0 ? new InvokeSignatures(config.credentials) : undefined;
  const unsignedFrom = signatures === undefined ? blockList(config.allowUnsignedFrom) : undefined;
  const events = new EventInvocations(host.logger);
  const server = http.createServer((req, res) => {
    handle(host, req, res, { signatures, unsignedFrom, events }).catch((err: unknown) => {
      host.logger.error('invoke api: request failed', { err });
      if (!res.headersSent) sendAwsError(res, randomUUID(), serviceError('internal error'));
      else res.destroy();
    });
  });
  await listenOn(server, config.port, config.host);
  return {
    server,
    close: () => {
      events.close();
      server.closeAllConnections();
      return new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    },
  };
}

interface Guards {
  signatures: InvokeSignatures | undefined;
  unsignedFrom: BlockList | undefined;
  events: EventInvocations;
}

async function handle(host: InvokeApiHost, req: IncomingMessage, res: ServerResponse, g: Guards): Promise<void> {
  const requestId = randomUUID();
  const fail = (e: AwsError) => {
    // A refused body is not read: close rather than let the client keep sending it.
    if (!req.complete) res.setHeader('connection', 'close');
    sendAwsError(res, requestId, e);
  };
  if (g.signatures === undefined && !peerAllowed(req, g.unsignedFrom!)) return fail(accessDenied());
  // Refused before the body is read: an unsigned request can't make the gateway buffer 6 MB.
  if (g.signatures !== undefined && req.headers.authorization === undefined) return fail(missingToken());

  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const m = INVOKE_PATH.exec(q === -1 ? url : url.slice(0, q));
  if (m === null || req.method !== 'POST') return fail(unknownOperation());
  const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const type = headerValue(req, 'x-amz-invocation-type') ?? 'RequestResponse';
  if (!INVOCATION_TYPES.has(type)) return fail(invalidParameter(`Invalid InvocationType: ${type}`));
  const limit = type === 'Event' ? EVENT_PAYLOAD_LIMIT : SYNC_PAYLOAD_LIMIT;
  const body = await readLimited(req, limit);
  if (body === undefined) return fail(tooLarge(limit));
  if (g.signatures !== undefined) {
    const refusal = await g.signatures.refusal(req, body);
    if (refusal !== undefined) return fail(refusal);
  }

  let functionName: string;
  try {
    functionName = decodeURIComponent(m[1]!);
  } catch {
    return fail(invalidParameter('malformed function name'));
  }
  const target = functionTarget(functionName, query.get('Qualifier') ?? undefined);
  if (typeof target === 'string') return fail(invalidParameter(target));
  const invoker = host.runtime.functions.get(target.name)?.invoker;
  if (!(invoker instanceof LocalFunction)) return fail(notFound(functionName));
  if (target.qualifier !== undefined && target.qualifier !== LATEST) return fail(notFound(`${target.name}:${target.qualifier}`));

  const common = { 'x-amzn-requestid': requestId, 'x-amz-executed-version': LATEST };
  if (type === 'DryRun') {
    res.writeHead(204, common);
    return void res.end();
  }
  const payload = body.length === 0 ? Buffer.from('{}') : body;
  if (!isJson(payload)) return fail({ status: 400, name: 'InvalidRequestContentException', type: 'User', message: 'Could not parse request body into json' });
  const clientContext = headerValue(req, 'x-amz-client-context');
  const request: InvokeRequest = { payload, requestId, ...(clientContext !== undefined && { clientContext }) };
  if (type === 'Event') {
    if (!g.events.accept(invoker, request)) return fail(throttled('ReservedFunctionConcurrentInvocationLimitExceeded'));
    res.writeHead(202, { 'x-amzn-requestid': requestId, 'content-length': 0 });
    return void res.end();
  }

  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  let result: InvokeResult;
  try {
    result = await invoker.invoke({ ...request, tailLogs: headerValue(req, 'x-amz-log-type') === 'Tail', signal: abort.signal });
  } catch (err) {
    if (abort.signal.aborted) return;
    const answer = failureAnswer(host, invoker, requestId, err);
    if ('refusal' in answer) return fail(answer.refusal);
    result = answer.result;
  }
  const headers: Record<string, string | number> = { ...common, 'content-type': 'application/json', 'content-length': result.payload.length };
  if (result.status === 'error') headers['x-amz-function-error'] = result.functionError ?? 'Unhandled';
  if (result.logTail !== undefined) headers['x-amz-log-result'] = Buffer.from(result.logTail).toString('base64');
  res.writeHead(200, headers);
  res.end(result.payload);
}

/**
 * Why no result came back, as Lambda says it: a timeout or a failed init is the function's error (200 with
 * `X-Amz-Function-Error: Unhandled`), a full queue is a throttle (429), anything else Lambda's own failure (500).
 */
function failureAnswer(host: InvokeApiHost, invoker: FunctionInvoker, requestId: string, err: unknown): { refusal: AwsError } | { result: InvokeResult } {
  const failure = err instanceof InvokeError ? err.failure : 'unavailable';
  const functionError = (errorType: string, errorMessage: string) => ({
    result: { status: 'error', functionError: 'Unhandled', durationMs: 0, payload: Buffer.from(JSON.stringify({ errorType, errorMessage })) } satisfies InvokeResult,
  });
  switch (failure) {
    case 'timeout': {
      const timeout = host.runtime.config.functions?.[invoker.name]?.timeout ?? '3s';
      return functionError('Sandbox.Timedout', `${new Date().toISOString()} ${requestId} Task timed out after ${(parseDuration(timeout) / 1000).toFixed(2)} seconds`);
    }
    case 'init_failed':
      return functionError('Runtime.InitError', (err as Error).message);
    case 'throttled':
      return { refusal: throttled('ReservedFunctionConcurrentInvocationLimitExceeded') };
    default:
      host.logger.warn('invoke api: invocation failed', { function: invoker.name, requestId, err });
      return { refusal: serviceError('The function could not be invoked') };
  }
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** IPv4 peers may show up IPv4-mapped (`::ffff:127.0.0.1`) on a dual-stack listener. */
function peerAllowed(req: IncomingMessage, allowed: BlockList): boolean {
  const addr = req.socket.remoteAddress;
  if (addr === undefined) return false;
  if (addr.startsWith('::ffff:') && addr.includes('.')) return allowed.check(addr.slice(7), 'ipv4');
  return allowed.check(addr, addr.includes(':') ? 'ipv6' : 'ipv4');
}

/** The whole body, or undefined once it is larger than `limit` (declared or sent). */
async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function isJson(payload: Buffer): boolean {
  try {
    JSON.parse(payload.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}
