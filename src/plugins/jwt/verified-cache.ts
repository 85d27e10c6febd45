import type { JWTPayload } from 'jose';

interface Entry {
  readonly claims: JWTPayload;
  readonly issuer: string | undefined;
  /** The token header's `kid`, kept so a hit needs no decoding at all. */
  readonly kid: string | undefined;
  /** ms since the epoch after which the entry is not used. */
  readonly until: number;
}

/**
 * Tokens whose signature and claims were verified, by their exact text, so a client sending the same token again
 * costs a map lookup instead of a signature check (50–150 µs). An entry never outlives the token (`exp` plus the
 * clock skew, and `iat` plus `maxTokenAge`) nor `ttl`, which bounds how long a key removed from the issuer's JWKS is
 * still honoured for tokens already seen. Consumer mapping is not cached: it runs per request. Bounded: the oldest
 * entries go first. Per plugin instance, so a reload starts empty.
 */
export class VerifiedTokens {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #ttl: number;
  readonly #skewMs: number;
  readonly #maxAgeMs: number | undefined;
  readonly #now: () => number;

  constructor(max: number, ttlMs: number, skewMs: number, maxAgeMs: number | undefined, now: () => number = Date.now) {
    this.#max = max;
    this.#ttl = ttlMs;
    this.#skewMs = skewMs;
    this.#maxAgeMs = maxAgeMs;
    this.#now = now;
  }

  get enabled(): boolean {
    return this.#max > 0 && this.#ttl > 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(token: string): Entry | undefined {
    const e = this.#entries.get(token);
    if (e === undefined) return undefined;
    if (e.until <= this.#now()) {
      this.#entries.delete(token);
      return undefined;
    }
    return e;
  }

  set(token: string, issuer: string | undefined, claims: JWTPayload, kid?: string): void {
    if (!this.enabled) return;
    const now = this.#now();
    let until = now + this.#ttl;
    if (typeof claims.exp === 'number') until = Math.min(until, claims.exp * 1000 + this.#skewMs);
    if (this.#maxAgeMs !== undefined && typeof claims.iat === 'number') until = Math.min(until, claims.iat * 1000 + this.#maxAgeMs + this.#skewMs);
    if (until <= now) return;
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(token, { claims, issuer, kid, until });
  }
}
