import { createHash } from 'node:crypto';

/** What the authorization server said about a token, or that it could not be asked. */
export type Answer =
  | { readonly kind: 'active'; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly kind: 'inactive' }
  | { readonly kind: 'unavailable'; readonly reason: string };

export interface AnswerCacheSettings {
  /** Milliseconds an active answer is reused (capped at the token's `exp`); 0 for never. */
  readonly ttl: number;
  /** Milliseconds an inactive answer is reused; 0 for never. */
  readonly negativeTtl: number;
  readonly maxEntries: number;
}

interface Entry {
  readonly answer: Answer;
  readonly until: number;
}

/** The cache key of a token: its SHA-256, so a memory dump or a debugger shows no usable token. */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/**
 * Introspection answers by token hash: active ones for `ttl` (never past the token's `exp`), inactive ones for
 * `negativeTtl`, at most `maxEntries` (least recently used dropped first). `unavailable` is never cached.
 * Concurrent lookups of a token not cached share one introspection call.
 */
export class AnswerCache {
  readonly #settings: AnswerCacheSettings;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Answer>>();

  constructor(settings: AnswerCacheSettings, now: () => number = Date.now) {
    this.#settings = settings;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The answer for a token: cached, joined from a call in flight, or from `introspect` (called at most once at a time per token). */
  get(key: string, introspect: () => Promise<Answer>): Answer | Promise<Answer> {
    const e = this.#entries.get(key);
    if (e !== undefined) {
      if (this.#now() < e.until) {
        this.#entries.delete(key);
        this.#entries.set(key, e);
        return e.answer;
      }
      this.#entries.delete(key);
    }
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = introspect()
        .catch((err: unknown): Answer => ({ kind: 'unavailable', reason: String(err) }))
        .then((answer) => {
          this.#store(key, answer);
          return answer;
        })
        .finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  #store(key: string, answer: Answer): void {
    const now = this.#now();
    let until: number;
    if (answer.kind === 'unavailable') return;
    if (answer.kind === 'inactive') {
      until = now + this.#settings.negativeTtl;
    } else {
      until = now + this.#settings.ttl;
      const exp = answer.claims.exp;
      if (typeof exp === 'number') until = Math.min(until, exp * 1000);
    }
    if (until <= now) return;
    if (this.#entries.size >= this.#settings.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { answer, until });
  }
}
