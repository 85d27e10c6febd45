/**
 * Request collapsing: the first miss for a key leads (goes upstream), later misses for the same key wait for the
 * leader to finish storing (or to give up) and then look again. A waiter that waits past its timeout goes
 * upstream on its own; a leader whose response turns out not to be storable releases its waiters at once.
 */
export class Coalescer {
  readonly #leads = new Map<string, Lead>();

  /** The lead in flight for `key`, if any. */
  pending(key: string): Lead | undefined {
    return this.#leads.get(key);
  }

  /** Takes the lead for `key` (the caller checked none is pending). */
  lead(key: string): Lead {
    const lead = new Lead(() => {
      if (this.#leads.get(key) === lead) this.#leads.delete(key);
    });
    this.#leads.set(key, lead);
    return lead;
  }

  get size(): number {
    return this.#leads.size;
  }
}

export class Lead {
  readonly done: Promise<void>;
  #resolve!: () => void;
  #onRelease: () => void;
  released = false;

  constructor(onRelease: () => void) {
    this.#onRelease = onRelease;
    this.done = new Promise<void>((resolve) => { this.#resolve = resolve; });
  }

  /** The leader is done (stored, or won't store): waiters look again. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.#onRelease();
    this.#resolve();
  }

  /** Resolves when the lead is released or after `ms`, whichever comes first; true if released. */
  wait(ms: number): Promise<boolean> {
    if (this.released) return Promise.resolve(true);
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.done.then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(resolve, ms, false); }),
    ]).finally(() => clearTimeout(timer));
  }
}
