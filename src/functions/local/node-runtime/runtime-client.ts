/**
 * The sandbox side of the Lambda Runtime API: `next`, `response`, `error`, `init/error`, over one keep-alive
 * connection (the loop is strictly sequential, so one socket serves every call). Plain `node:http`: `fetch` would
 * load undici, tens of milliseconds of cold start for nothing.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface NextInvocation {
  requestId: string;
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId: string | undefined;
  clientContext: string | undefined;
  cognitoIdentity: string | undefined;
  event: Buffer;
}

export interface ErrorBody {
  errorType: string;
  errorMessage: string;
  stackTrace: string[];
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const BASE = '/2018-06-01/runtime';

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export class RuntimeClient {
  readonly #host: string;
  readonly #port: number;
  // Free keep-alive sockets are unref'd by the agent, so an idle connection never keeps the event loop (and
  // callbackWaitsForEmptyEventLoop) waiting.
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(runtimeApi: string) {
    const colon = runtimeApi.lastIndexOf(':');
    this.#host = runtimeApi.slice(0, colon);
    this.#port = Number(runtimeApi.slice(colon + 1));
  }

  async next(): Promise<NextInvocation> {
    const { status, headers, body } = await this.#call('GET', `${BASE}/invocation/next`);
    if (status !== 200) throw new Error(`Runtime API next answered ${status}: ${body.toString()}`);
    return {
      requestId: one(headers['lambda-runtime-aws-request-id']) ?? '',
      deadlineMs: Number(one(headers['lambda-runtime-deadline-ms'])),
      invokedFunctionArn: one(headers['lambda-runtime-invoked-function-arn']) ?? '',
      traceId: one(headers['lambda-runtime-trace-id']),
      clientContext: one(headers['lambda-runtime-client-context']),
      cognitoIdentity: one(headers['lambda-runtime-cognito-identity']),
      event: body,
    };
  }

  /** Posts the result; a 413 (too large) is the gateway's to report, so it is not an error here. */
  async respond(requestId: string, body: string): Promise<void> {
    await this.#call('POST', `${BASE}/invocation/${encodeURIComponent(requestId)}/response`, body);
  }

  async error(requestId: string, error: ErrorBody): Promise<void> {
    await this.#call('POST', `${BASE}/invocation/${encodeURIComponent(requestId)}/error`, JSON.stringify(error), error.errorType);
  }

  async initError(error: ErrorBody): Promise<void> {
    await this.#call('POST', `${BASE}/init/error`, JSON.stringify(error), error.errorType);
  }

  #call(method: string, path: string, body?: string, errorType?: string): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = Buffer.byteLength(body);
      }
      if (errorType !== undefined) headers['Lambda-Runtime-Function-Error-Type'] = errorType;
      const req = request({ host: this.#host, port: this.#port, method, path, headers, agent: this.#agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}
