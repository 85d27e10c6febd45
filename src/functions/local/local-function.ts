/**
 * A function run here: a pool of sandboxes (child processes speaking the Lambda Runtime API). An invocation takes
 * the most recently used idle sandbox (so surplus ones go idle and are reclaimed), else starts a new one while fewer
 * than `reservedConcurrency` exist (a cold start), else waits in a FIFO queue. Invariant: while anyone is queued,
 * no sandbox is idle and the pool is full; a sandbox that finishes or dies goes to the oldest waiter first.
 * A timeout kills the sandbox; a crash costs only its invocation; either way the next invocation gets a new one.
 */
import type { FunctionConfigT } from '../../config/schema/function.ts';
import type { Logger } from '../../core/logger.ts';
import { parseDuration } from '../../config/units.ts';
import { InvokeError, type FunctionInvoker, type FunctionStats, type InvokeRequest, type InvokeResult } from '../types.ts';
import { Sandbox, type SandboxSpec } from './sandbox.ts';
import { sandboxSpec } from './sandbox-spec.ts';
import { WaitQueue } from './wait-queue.ts';

export interface LocalFunctionOptions {
  /** The config file's directory: `codeDir` is relative to it. */
  baseDir: string;
  logger: Logger;
}

/** A sandbox for one invocation: an idle one, or a new one still starting (`cold`). */
interface Lease {
  sandbox: Sandbox;
  cold: boolean;
}

type Counters = Omit<FunctionStats, 'name' | 'kind' | 'sandboxes' | 'queued'>;

export class LocalFunction implements FunctionInvoker {
  readonly name: string;
  readonly #spec: SandboxSpec;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #maxSandboxes: number;
  readonly #all = new Set<Sandbox>();
  /** Idle sandboxes, most recently used last, and their reclaim timers. */
  readonly #idle: Sandbox[] = [];
  readonly #reclaimTimers = new Map<Sandbox, NodeJS.Timeout>();
  readonly #queue: WaitQueue<Lease>;
  /** Rejecters of every invocation in progress, for close(). */
  readonly #pending = new Set<(err: InvokeError) => void>();
  readonly #counters: Counters = {
    invocations: 0, errors: 0, throttles: 0, timeouts: 0, coldStarts: 0, durationMsTotal: 0, initDurationMsTotal: 0,
  };
  #closed = false;

  constructor(name: string, config: FunctionConfigT, options: LocalFunctionOptions) {
    this.name = name;
    this.#logger = options.logger;
    this.#spec = sandboxSpec(name, config, options.baseDir, options.logger);
    this.#timeoutMs = parseDuration(config.timeout);
    this.#idleTimeoutMs = parseDuration(config.idleTimeout);
    this.#maxSandboxes = config.reservedConcurrency;
    this.#queue = new WaitQueue(config.queue.maxSize, parseDuration(config.queue.timeout));
  }

  invoke(request: InvokeRequest): Promise<InvokeResult> {
    if (this.#closed) return Promise.reject(new InvokeError('unavailable', `function ${this.name} is closed`));
    if (request.signal?.aborted === true) return Promise.reject(new InvokeError('aborted', 'aborted before it started'));
    const { promise, resolve, reject } = Promise.withResolvers<InvokeResult>();
    const signal = request.signal;
    // The caller is answered at once on abort; the invocation itself runs to its end (a sandbox is not killed for
    // a client that went away) and its sandbox returns to the pool then.
    const onAbort = () => reject(new InvokeError('aborted', `invocation ${request.requestId} aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#pending.add(reject);
    this.#execute(request).then(resolve, reject).finally(() => {
      this.#pending.delete(reject);
      signal?.removeEventListener('abort', onAbort);
    });
    return promise;
  }

  stats(): FunctionStats {
    let busy = 0;
    let starting = 0;
    for (const s of this.#all) {
      if (s.state === 'busy') busy++;
      else if (s.state === 'starting') starting++;
    }
    return {
      name: this.name,
      kind: 'local',
      ...this.#counters,
      sandboxes: { warm: this.#idle.length + busy, busy, starting },
      queued: this.#queue.length,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const err = new InvokeError('unavailable', `function ${this.name} is closing`);
    this.#queue.rejectAll(err);
    for (const reject of this.#pending) reject(err);
    const sandboxes = [...this.#all];
    for (const sandbox of sandboxes) sandbox.kill();
    await Promise.all(sandboxes.map((s) => s.exited));
  }

  async #execute(request: InvokeRequest): Promise<InvokeResult> {
    let lease = this.#lease();
    if (lease === undefined) {
      try {
        lease = await this.#queue.wait(`function ${this.name}`, request.signal);
      } catch (err) {
        if ((err as InvokeError).failure === 'throttled') this.#counters.throttles++;
        throw err;
      }
    }
    const { sandbox } = lease;
    if (lease.cold) {
      try {
        await sandbox.ready;
      } catch (err) {
        this.#counters.errors++;
        this.#logger.warn('function init failed', { function: this.name, requestId: request.requestId, err });
        throw err;
      }
    }
    if (request.signal?.aborted === true || this.#closed) {
      this.#release(sandbox);
      throw new InvokeError(this.#closed ? 'unavailable' : 'aborted', `invocation ${request.requestId} not started`);
    }
    this.#counters.invocations++;
    let result: InvokeResult;
    try {
      result = await sandbox.run(request, this.#timeoutMs);
    } catch (err) {
      this.#counters.errors++;
      if ((err as InvokeError).failure === 'timeout') {
        this.#counters.timeouts++;
        this.#counters.durationMsTotal += this.#timeoutMs;
      }
      throw err;
    }
    this.#counters.durationMsTotal += result.durationMs;
    if (result.status === 'error') this.#counters.errors++;
    this.#release(sandbox);
    return result;
  }

  /** An idle sandbox, or a new one when there is room; undefined when the pool is full and busy. */
  #lease(): Lease | undefined {
    const last = this.#idle.pop();
    if (last !== undefined) {
      clearTimeout(this.#reclaimTimers.get(last));
      this.#reclaimTimers.delete(last);
      return { sandbox: last, cold: false };
    }
    if (this.#closed || this.#all.size >= this.#maxSandboxes) return undefined;
    const sandbox = new Sandbox(this.#spec, (s) => this.#onDeath(s));
    this.#all.add(sandbox);
    this.#counters.coldStarts++;
    sandbox.ready.then((ms) => (this.#counters.initDurationMsTotal += ms), () => {});
    return { sandbox, cold: true };
  }

  /** Back to the pool after an invocation: to the oldest waiter, else idle until reclaimed. */
  #release(sandbox: Sandbox): void {
    if (sandbox.state !== 'idle') return; // dead: #onDeath has already made room
    if (this.#closed) return sandbox.kill();
    if (this.#queue.handOff({ sandbox, cold: false })) return;
    const timer = setTimeout(() => {
      this.#unidle(sandbox);
      sandbox.kill();
    }, this.#idleTimeoutMs);
    timer.unref();
    this.#idle.push(sandbox);
    this.#reclaimTimers.set(sandbox, timer);
  }

  #unidle(sandbox: Sandbox): void {
    clearTimeout(this.#reclaimTimers.get(sandbox));
    this.#reclaimTimers.delete(sandbox);
    const i = this.#idle.indexOf(sandbox);
    if (i !== -1) this.#idle.splice(i, 1);
  }

  #onDeath(sandbox: Sandbox): void {
    this.#all.delete(sandbox);
    this.#unidle(sandbox);
    // Its slot is free: a waiter may start a new sandbox in it.
    while (this.#queue.length > 0) {
      const lease = this.#lease();
      if (lease === undefined) break;
      this.#queue.handOff(lease);
    }
  }
}
