import type { Logger } from '../../core/logger.ts';
import { InvokeError, type FunctionInvoker, type InvokeRequest } from '../types.ts';

/** Asynchronous invocations accepted but not finished, across every function; past it, Event invocations get 429. */
const MAX_PENDING = 1000;
/** Lambda retries an asynchronous invocation twice; a throttled one is retried here with these delays (ms). */
const RETRY_DELAYS = [1000, 2000];

/**
 * `InvocationType: Event`: accepted at once (202), run in the background. A throttled invocation (the function's
 * queue full) is retried after a delay, as Lambda's own event queue does; a function error or any other failure is
 * logged, and there is no destination to send it to. Nothing survives a restart.
 */
export class EventInvocations {
  readonly #logger: Logger;
  readonly #timers = new Set<NodeJS.Timeout>();
  #pending = 0;
  #closed = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** False when too many are pending already (the caller answers 429). */
  accept(invoker: FunctionInvoker, request: InvokeRequest): boolean {
    if (this.#closed || this.#pending >= MAX_PENDING) return false;
    this.#pending++;
    this.#run(invoker, request, 0);
    return true;
  }

  #run(invoker: FunctionInvoker, request: InvokeRequest, attempt: number): void {
    invoker.invoke(request).then((result) => {
      if (result.status === 'error') this.#logger.warn('event invocation failed', { function: invoker.name, requestId: request.requestId, error: result.payload.toString('utf8', 0, 1024) });
      this.#pending--;
    }, (err: unknown) => {
      const delay = RETRY_DELAYS[attempt];
      if (err instanceof InvokeError && err.failure === 'throttled' && delay !== undefined && !this.#closed) {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.#run(invoker, request, attempt + 1);
        }, delay);
        this.#timers.add(timer);
        return;
      }
      this.#pending--;
      this.#logger.warn('event invocation failed', { function: invoker.name, requestId: request.requestId, err: (err as Error).message });
    });
  }

  /** Drops the retries still waiting; invocations running finish (or fail as their function closes). */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
