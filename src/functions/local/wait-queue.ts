/**
 * The FIFO queue of invocations waiting for a sandbox. `wait` rejects at once with InvokeError('throttled') when
 * `maxSize` are already waiting, later with 'throttled' when `timeoutMs` passes, or 'aborted' when the caller's
 * signal fires; otherwise it resolves with what `handOff` gives the oldest waiter.
 */
import { InvokeError } from '../types.ts';

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: InvokeError): void;
}

export class WaitQueue<T> {
  readonly #maxSize: number;
  readonly #timeoutMs: number;
  readonly #waiters: Waiter<T>[] = [];

  constructor(maxSize: number, timeoutMs: number) {
    this.#maxSize = maxSize;
    this.#timeoutMs = timeoutMs;
  }

  get length(): number {
    return this.#waiters.length;
  }

  wait(what: string, signal?: AbortSignal): Promise<T> {
    if (this.#waiters.length >= this.#maxSize) {
      return Promise.reject(new InvokeError('throttled', `${what}: all sandboxes busy and the queue is full (${this.#maxSize})`));
    }
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
      };
      const waiter: Waiter<T> = {
        resolve: (v) => (done(), resolve(v)),
        reject: (e) => (done(), reject(e)),
      };
      const onAbort = () => waiter.reject(new InvokeError('aborted', `${what}: aborted while queued`));
      const timer = setTimeout(() => waiter.reject(new InvokeError('throttled', `${what}: no sandbox free within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Gives `value` to the oldest waiter; false when nobody waits. */
  handOff(value: T): boolean {
    const waiter = this.#waiters[0];
    if (waiter === undefined) return false;
    waiter.resolve(value);
    return true;
  }

  rejectAll(err: InvokeError): void {
    for (const waiter of [...this.#waiters]) waiter.reject(err);
  }
}
