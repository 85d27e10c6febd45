import { createHmac, randomBytes } from 'node:crypto';

/** One random key per process: cache keys mean nothing outside it, and never hold a password. */
const PROCESS_KEY = randomBytes(32);

/**
 * Remembers logins that verified, so a client sending the same user name and password on every request pays one
 * password hash per `ttl` instead of one per request. Keyed by HMAC(process key, user length, user, password): the password
 * itself is never kept. Bounded: past `max` entries the least recently used goes. Only successes are stored, so a
 * flood of wrong passwords cannot evict anything useful or grow the map. Per plugin instance: a reload (which
 * rebuilds instances) starts empty.
 */
export class SuccessCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();
  readonly #ttl: number;
  readonly #max: number;

  constructor(ttlMs: number, max: number) {
    this.#ttl = ttlMs;
    this.#max = max;
  }

  get enabled(): boolean {
    return this.#ttl > 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  key(user: string, password: string): string {
    return createHmac('sha256', PROCESS_KEY).update(`${Buffer.byteLength(user)}:`).update(user).update(password).digest('base64');
  }

  get(key: string, now: number): V | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#entries.delete(key);
    if (e.expires <= now) return undefined;
    this.#entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: now + this.#ttl });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }
}
