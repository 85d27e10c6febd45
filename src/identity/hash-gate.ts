/**
 * Password hashes (scrypt, argon2id) run on libuv's thread pool, four threads shared with DNS lookups and file I/O.
 * A flood of logins with wrong passwords (never cached) would otherwise fill it and stall unrelated work. The gate
 * lets `maxConcurrent` checks run at once across the process, queues up to `maxQueued` more in arrival order, and
 * turns the rest away at once (the caller answers 503 `auth_unavailable`). Cached logins never pass through it.
 */
export class HashGate {
  #running = 0;
  readonly #queue: Array<() => void> = [];
  maxConcurrent: number;
  maxQueued: number;

  constructor(maxConcurrent: number, maxQueued: number) {
    this.maxConcurrent = maxConcurrent;
    this.maxQueued = maxQueued;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Runs `check` when a slot is free; undefined (nothing run) when the queue is full. */
  run<T>(check: () => Promise<T>): Promise<T> | undefined {
    if (this.#running < this.maxConcurrent) return this.#start(check);
    if (this.#queue.length >= this.maxQueued) return undefined;
    return new Promise<void>((resolve) => this.#queue.push(resolve)).then(() => this.#start(check));
  }

  async #start<T>(check: () => Promise<T>): Promise<T> {
    this.#running++;
    try {
      return await check();
    } finally {
      this.#running--;
      this.#queue.shift()?.();
    }
  }
}

/** The process's gate: one thread pool, one gate. Its limits are the latest config's `auth.passwordChecks`. */
export const passwordGate = new HashGate(2, 64);
