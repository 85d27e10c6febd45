/**
 * One sandbox: a child process (its own process group, so killing it kills whatever it started) fetching work from
 * its own Runtime API server. Lifecycle: `starting` (spawned, until its first `next`) → `idle` ⇄ `busy` → `dead`.
 * `ready` resolves with the init duration or rejects with InvokeError('init_failed'); `run` resolves with the
 * invocation's result (a crash or exit is an `error` result) or rejects with InvokeError('timeout') after killing
 * the sandbox. Once dead, a sandbox is never used again; `onDeath` tells the pool.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../core/logger.ts';
import { InvokeError, type InvokeRequest, type InvokeResult } from '../types.ts';
import { captureLines, LogTail } from './log-capture.ts';
import { RuntimeApiServer } from './runtime-api-server.ts';
import { errorBuffer, exitError, exitStatus, responseTooLarge, type ErrorPayload } from './runtime-errors.ts';
import { treeRss, watchRss } from './rss-watchdog.ts';

/** AWS gives init 10 s, whatever the function's timeout. */
const INIT_TIMEOUT_MS = 10_000;
/** After the process exits, how long its descendants may keep its stdout/stderr open before we stop waiting. */
const CLOSE_GRACE_MS = 250;

export interface SandboxSpec {
  functionName: string;
  command: string;
  args: string[];
  cwd: string;
  /** The environment for a sandbox whose Runtime API is at `runtimeApi`. */
  env(runtimeApi: string): Record<string, string>;
  invokedFunctionArn: string;
  memorySize: number;
  /** RSS (bytes, process tree) past which the sandbox is killed; undefined: not watched. */
  rssLimit: number | undefined;
  /** Recognises the line a runtime prints when it runs out of memory (Node's heap limit). */
  oomLine?: RegExp;
  logger: Logger;
}

type State = 'starting' | 'idle' | 'busy' | 'dead';

interface Running {
  requestId: string;
  started: number;
  timer: NodeJS.Timeout;
  tail: LogTail | undefined;
  resolve(result: InvokeResult): void;
  reject(err: InvokeError): void;
}

export class Sandbox {
  readonly #spec: SandboxSpec;
  readonly #api: RuntimeApiServer;
  #child: ChildProcess | undefined;
  #spawnedAt = 0;
  #stopWatchdog: (() => void) | undefined;
  #state: State = 'starting';
  #initDurationMs: number | undefined;
  #coldPending = true;
  #initError: ErrorPayload | undefined;
  #outOfMemory = false;
  /** Killed on purpose (reclaimed, timed out, closed): its exit is no news. */
  #killed = false;
  #running: Running | undefined;
  /** The log tail being collected: the running invocation's, kept until its result is out. */
  #tail: LogTail | undefined;
  /** The request id log lines are attributed to: the current or last invocation. */
  #logRequestId: string | undefined;
  readonly #onDeath: (sandbox: Sandbox) => void;
  /** Resolves with the init duration (ms), or rejects with InvokeError('init_failed'). */
  readonly ready: Promise<number>;
  #settleReady!: (err?: InvokeError) => void;
  /** Resolves once the process is gone (or was never started). */
  readonly exited: Promise<void>;
  #settleExited!: () => void;

  constructor(spec: SandboxSpec, onDeath: (sandbox: Sandbox) => void) {
    this.#spec = spec;
    this.#onDeath = onDeath;
    this.ready = new Promise<number>((resolve, reject) => {
      this.#settleReady = (err) => (err === undefined ? resolve(this.#initDurationMs!) : reject(err));
    });
    this.ready.catch(() => {}); // a sandbox killed while starting may have no one waiting for it
    this.exited = new Promise<void>((resolve) => (this.#settleExited = resolve));
    this.#api = new RuntimeApiServer({
      onNext: () => this.#onNext(),
      onResponse: (id, body) => this.#finish(id, { status: 'ok', payload: body }),
      onError: (id, error) => this.#finish(id, { status: 'error', payload: errorBuffer(error), functionError: 'Unhandled' }),
      onTooLarge: (id) => this.#finish(id, { status: 'error', payload: errorBuffer(responseTooLarge()), functionError: 'Unhandled' }),
      onInitError: (error) => this.#onInitError(error),
    });
    const initTimer = setTimeout(() => this.#initFailed(`init did not finish within ${INIT_TIMEOUT_MS} ms`), INIT_TIMEOUT_MS);
    initTimer.unref();
    void this.ready.then(() => clearTimeout(initTimer), () => clearTimeout(initTimer));
    this.#api.listen().then(() => this.#spawn(), (err: Error) => this.#initFailed(`no Runtime API port: ${err.message}`));
  }

  #spawn(): void {
    const spec = this.#spec;
    if (this.#state === 'dead') return this.#settleExited(); // killed before it started
    this.#spawnedAt = performance.now();
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env(this.#api.address),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.#child = child;
    child.on('error', (err) => {
      this.#initFailed(`could not start ${spec.command}: ${err.message}`);
      if (child.pid === undefined) this.#settleExited();
    });
    captureLines(child.stdout!, (line) => this.#log('stdout', line));
    captureLines(child.stderr!, (line) => this.#log('stderr', line));
    child.once('exit', (code, signal) => this.#onExit(code, signal));
    if (spec.rssLimit === undefined || child.pid === undefined) return;
    this.#stopWatchdog = watchRss(child.pid, spec.rssLimit, (rss) => {
      this.#outOfMemory = true;
      spec.logger.warn('function sandbox over its memory limit, killed', { function: spec.functionName, rss, limit: spec.rssLimit });
      this.kill();
    });
  }

  get state(): State {
    return this.#state;
  }

  /** Runs one invocation; the sandbox must be idle. */
  run(request: InvokeRequest, timeoutMs: number): Promise<InvokeResult> {
    if (this.#state !== 'idle') return Promise.reject(new InvokeError('unavailable', `the sandbox exited before invocation ${request.requestId} was dispatched`));
    this.#state = 'busy';
    const started = performance.now();
    const tail = request.tailLogs === true ? new LogTail() : undefined;
    tail?.push(`START RequestId: ${request.requestId} Version: $LATEST`);
    this.#tail = tail;
    this.#logRequestId = request.requestId;
    return new Promise<InvokeResult>((resolve, reject) => {
      const timer = setTimeout(() => this.#timedOut(timeoutMs), timeoutMs);
      this.#running = { requestId: request.requestId, started, timer, tail, resolve, reject };
      this.#api.dispatch({
        requestId: request.requestId,
        payload: request.payload,
        deadlineMs: Date.now() + timeoutMs,
        invokedFunctionArn: this.#spec.invokedFunctionArn,
        traceId: request.traceId,
        clientContext: request.clientContext,
        cognitoIdentity: request.cognitoIdentity,
      });
    });
  }

  /** SIGKILLs the whole process group (the `exit` handler does the rest); a sandbox not yet spawned never will be. */
  kill(): void {
    const child = this.#child;
    if (child === undefined) return this.#initFailed('stopped before it started');
    if (child.exitCode === null && child.signalCode === null) this.#killed = true;
    this.#killGroup();
  }

  #killGroup(): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch { /* the group is gone already */ }
  }

  #onNext(): void {
    if (this.#state !== 'starting') return;
    this.#initDurationMs = performance.now() - this.#spawnedAt;
    this.#state = 'idle';
    this.#settleReady();
  }

  #onInitError(error: ErrorPayload): void {
    this.#initError = error;
    this.#initFailed(`${error.errorType}: ${error.errorMessage}`);
  }

  #initFailed(message: string): void {
    if (this.#state !== 'starting') return;
    this.#markDead();
    this.#settleReady(new InvokeError('init_failed', `function ${this.#spec.functionName} failed to initialise: ${message}`, { cause: this.#initError }));
    this.kill();
  }

  #finish(requestId: string, result: Pick<InvokeResult, 'status' | 'payload' | 'functionError'>): void {
    const running = this.#running;
    if (running === undefined || running.requestId !== requestId) return;
    this.#running = undefined;
    clearTimeout(running.timer);
    const durationMs = performance.now() - running.started;
    const initDurationMs = this.#coldPending ? this.#initDurationMs : undefined;
    this.#coldPending = false;
    if (this.#state === 'busy') this.#state = 'idle';
    const out: InvokeResult = { ...result, durationMs, ...(initDurationMs === undefined ? {} : { initDurationMs }) };
    if (running.tail === undefined) return running.resolve(out);
    // Lines written just before the answer may still sit in the pipe: let this loop turn read them first.
    setImmediate(() => {
      this.#report(running, durationMs, initDurationMs);
      if (this.#tail === running.tail) this.#tail = undefined;
      running.resolve({ ...out, logTail: running.tail!.toString() });
    });
  }

  #report(running: Running, durationMs: number, initDurationMs: number | undefined): void {
    const id = running.requestId;
    const pid = this.#child?.pid;
    const memory = pid === undefined ? 0 : Math.ceil(treeRss(pid) / 1048576);
    const init = initDurationMs === undefined ? '' : `\tInit Duration: ${initDurationMs.toFixed(2)} ms`;
    running.tail!.push(`END RequestId: ${id}`);
    running.tail!.push(`REPORT RequestId: ${id}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${Math.ceil(durationMs)} ms\t`
      + `Memory Size: ${this.#spec.memorySize} MB\tMax Memory Used: ${memory} MB${init}`);
  }

  #timedOut(timeoutMs: number): void {
    const running = this.#running;
    if (running === undefined) return;
    this.#running = undefined;
    this.#markDead();
    this.kill();
    const seconds = (timeoutMs / 1000).toFixed(2);
    running.reject(new InvokeError('timeout', `RequestId: ${running.requestId} Task timed out after ${seconds} seconds`));
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#stopWatchdog?.();
    this.#killGroup(); // what a `provided` bootstrap started shares its group
    if (this.#state === 'idle') {
      // Out of the pool at once: nothing to report, and no invocation may be dispatched to it meanwhile.
      if (!this.#killed) this.#spec.logger.warn('function sandbox exited while idle', { function: this.#spec.functionName, status: exitStatus(code, signal) });
      this.#markDead();
    }
    let closed = false;
    const finish = () => {
      if (closed) return;
      closed = true;
      this.#afterExit(code, signal);
    };
    this.#child!.once('close', finish);
    setTimeout(finish, CLOSE_GRACE_MS).unref();
  }

  /** Runs once the process is gone and its output read (so an out-of-memory line has been seen). */
  #afterExit(code: number | null, signal: NodeJS.Signals | null): void {
    const status = exitStatus(code, signal);
    if (this.#state === 'starting') this.#initFailed(`the runtime exited before asking for work (${status})`);
    const running = this.#running;
    if (running !== undefined) {
      this.#running = undefined;
      clearTimeout(running.timer);
      const durationMs = performance.now() - running.started;
      running.tail?.push(`RequestId: ${running.requestId} Error: Runtime exited with error: ${status}`);
      running.resolve({
        status: 'error',
        payload: errorBuffer(exitError(running.requestId, status, this.#outOfMemory)),
        functionError: 'Unhandled',
        durationMs,
        ...(running.tail === undefined ? {} : { logTail: running.tail.toString() }),
      });
    }
    this.#markDead();
    this.#settleExited();
  }

  #markDead(): void {
    if (this.#state === 'dead') return;
    this.#state = 'dead';
    this.#stopWatchdog?.();
    this.#api.close();
    this.#onDeath(this);
  }

  #log(stream: 'stdout' | 'stderr', line: string): void {
    if (this.#spec.oomLine?.test(line) === true) this.#outOfMemory = true;
    this.#tail?.push(line);
    this.#spec.logger.info('function log', { function: this.#spec.functionName, requestId: this.#logRequestId, stream, line });
  }
}
