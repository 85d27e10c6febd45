import type { InvokeCommand, InvokeCommandOutput, LambdaClient, LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { FunctionConfigT } from '../../config/schema/function.ts';
import { parseDuration } from '../../config/units.ts';
import type { Logger } from '../../core/logger.ts';
import { InvokeError, type FunctionInvoker, type FunctionStats, type InvokeRequest, type InvokeResult } from '../types.ts';
import { invokeErrorOf } from './invoke-failure.ts';

type Counters = Omit<FunctionStats, 'name' | 'kind' | 'sandboxes' | 'queued'>;

/** The region of a Lambda ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`). */
export function arnRegion(arn: string): string | undefined {
  const region = arn.split(':')[3];
  return region === undefined || region === '' ? undefined : region;
}

/**
 * A function that runs elsewhere: AWS Lambda, or any Lambda-compatible Invoke API (`endpoint`: another Expeditor,
 * LocalStack), called with `@aws-sdk/client-lambda` and the SDK's default credential chain (environment, shared
 * config and SSO profiles, web identity, ECS and EC2 instance roles).
 *
 * An invocation is one attempt: Invoke is not idempotent (a retried timeout may run the function twice), and a
 * gateway should answer a throttle rather than queue behind it. The gateway waits at most the function's
 * `timeout` for the answer, then fails with `timeout` (504).
 */
export class RemoteFunction implements FunctionInvoker {
  readonly name: string;
  readonly #arn: string;
  readonly #qualifier: string | undefined;
  readonly #timeoutMs: number;
  /**
   * The AWS SDK client, made on the first invocation: the SDK is loaded only by gateways (and CLI commands) that
   * invoke a remote function, not by every start.
   */
  #client: Promise<{ client: LambdaClient; Invoke: typeof InvokeCommand }> | undefined = undefined;
  readonly #clientConfig: LambdaClientConfig;
  readonly #logger: Logger;
  /** Aborters of every invocation in progress, for close(). */
  readonly #pending = new Set<AbortController>();
  readonly #counters: Counters = {
    invocations: 0, errors: 0, throttles: 0, timeouts: 0, coldStarts: 0, durationMsTotal: 0, initDurationMsTotal: 0,
  };
  #closed = false;

  constructor(name: string, config: FunctionConfigT, options: { logger: Logger }) {
    const arn = config.arn;
    if (arn === undefined) throw new Error('a remote function needs an `arn`');
    const region = config.region ?? arnRegion(arn);
    if (region === undefined) throw new Error('the ARN names no region: set `region`');
    this.name = name;
    this.#arn = arn;
    this.#qualifier = config.qualifier;
    this.#timeoutMs = parseDuration(config.timeout);
    this.#logger = options.logger;
    this.#clientConfig = {
      region,
      ...(config.endpoint !== undefined && { endpoint: config.endpoint }),
      maxAttempts: 1,
      requestHandler: { connectionTimeout: Math.min(this.#timeoutMs, 5000) },
    };
  }

  #sdk(): Promise<{ client: LambdaClient; Invoke: typeof InvokeCommand }> {
    return (this.#client ??= import('@aws-sdk/client-lambda').then((m) => ({ client: new m.LambdaClient(this.#clientConfig), Invoke: m.InvokeCommand })));
  }

  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    if (this.#closed) throw new InvokeError('unavailable', `function ${this.name} is closed`);
    if (request.signal?.aborted === true) throw new InvokeError('aborted', 'aborted before it started');
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort('timeout'), this.#timeoutMs);
    const onAbort = () => abort.abort('aborted');
    request.signal?.addEventListener('abort', onAbort, { once: true });
    this.#pending.add(abort);
    this.#counters.invocations++;
    const started = performance.now();
    let out: InvokeCommandOutput;
    try {
      const { client, Invoke } = await this.#sdk();
      out = await client.send(new Invoke({
        FunctionName: this.#arn,
        Qualifier: this.#qualifier,
        InvocationType: 'RequestResponse',
        LogType: request.tailLogs === true ? 'Tail' : 'None',
        ClientContext: request.clientContext,
        Payload: request.payload,
      }), { abortSignal: abort.signal });
    } catch (err) {
      throw this.#failed(err, abort.signal.reason, performance.now() - started);
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      this.#pending.delete(abort);
    }
    const durationMs = performance.now() - started;
    this.#counters.durationMsTotal += durationMs;
    const payload = Buffer.from(out.Payload ?? new Uint8Array());
    const logTail = out.LogResult !== undefined ? Buffer.from(out.LogResult, 'base64').toString('utf8') : undefined;
    const tail = logTail !== undefined && request.tailLogs === true ? { logTail } : {};
    if (out.FunctionError === undefined || out.FunctionError === '') return { status: 'ok', payload, durationMs, ...tail };
    this.#counters.errors++;
    return { status: 'error', payload, functionError: out.FunctionError === 'Handled' ? 'Handled' : 'Unhandled', durationMs, ...tail };
  }

  #failed(err: unknown, why: unknown, elapsedMs: number): InvokeError {
    this.#counters.errors++;
    if (why === 'timeout') {
      this.#counters.timeouts++;
      this.#counters.durationMsTotal += elapsedMs;
      return new InvokeError('timeout', `remote function ${this.name} did not answer within ${this.#timeoutMs} ms`, { cause: err });
    }
    if (why === 'aborted') return new InvokeError('aborted', `invocation of ${this.name} aborted`, { cause: err });
    if (this.#closed) return new InvokeError('unavailable', `function ${this.name} is closed`, { cause: err });
    const e = invokeErrorOf(this.name, err);
    if (e.failure === 'throttled') this.#counters.throttles++;
    this.#logger.warn('remote function invocation failed', { function: this.name, failure: e.failure, err: e.message });
    return e;
  }

  stats(): FunctionStats {
    return { name: this.name, kind: 'remote', ...this.#counters, sandboxes: { warm: 0, busy: 0, starting: 0 }, queued: 0 };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const abort of this.#pending) abort.abort('closed');
    const made = this.#client;
    if (made !== undefined) (await made.catch(() => undefined))?.client.destroy();
  }
}
