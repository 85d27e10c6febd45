import { createLocalJWKSet, errors, type CryptoKey, type JWSHeaderParameters, type LocalJWKSet } from 'jose';
import { RemoteDocument, SharedRegistry, documentKey, type CacheSettings } from '../../identity/remote/remote-document.ts';

export interface JwksSettings extends CacheSettings {
  /** At most one refetch per this interval for tokens whose `kid` the cached set lacks. */
  readonly refreshInterval: number;
}

/** The issuer's keys can't be had: nothing was ever fetched and the JWKS endpoint fails now. */
export class KeysUnavailable extends Error {}

function parseJwks(body: unknown): LocalJWKSet {
  const keys = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('not a JSON Web Key Set (no "keys" array)');
  // Private or symmetric members have no place in a published set: drop them rather than ever verify with them.
  const usable = keys.filter((k): k is Record<string, unknown> => typeof k === 'object' && k !== null && k.kty !== 'oct' && !('d' in k));
  return createLocalJWKSet({ keys: usable as never[] });
}

const registry = new SharedRegistry<JwksCache>();

/**
 * An issuer's JSON Web Key Set, fetched over HTTP and cached by `Cache-Control` lifetime (see RemoteDocument):
 * stale keys keep serving while a background refresh runs or while the endpoint is down. A token whose `kid` the
 * cached set lacks (the issuer may have rotated) triggers a refetch, at most once per `refreshInterval`: a storm of
 * made-up kids costs at most one fetch per interval, and concurrent misses share it. `kid` is only ever compared
 * with the keys' own kids: it never reaches a URL, a path or a query.
 */
export class JwksCache {
  readonly document: RemoteDocument<LocalJWKSet>;
  readonly #refreshInterval: number;
  readonly #now: () => number;
  #lastMissFetch = -Infinity;

  constructor(document: RemoteDocument<LocalJWKSet>, refreshInterval: number, now: () => number = Date.now) {
    this.document = document;
    this.#refreshInterval = refreshInterval;
    this.#now = now;
  }

  /** The cache for this JWKS URL and settings, shared across plugin instances and config reloads. */
  static shared(url: string, settings: JwksSettings): JwksCache {
    return registry.get(documentKey(url, settings), () => JwksCache.create(url, settings));
  }

  /** A cache of its own (tests give it a clock). */
  static create(url: string, settings: JwksSettings, now: () => number = Date.now): JwksCache {
    return new JwksCache(new RemoteDocument(url, parseJwks, settings, now), settings.refreshInterval, now);
  }

  /**
   * The key for a token's protected header, as jose's `jwtVerify` asks for it. Throws KeysUnavailable when no key
   * set could ever be fetched, and jose's JWKSNoMatchingKey (or JWKSMultipleMatchingKeys) otherwise.
   */
  readonly getKey = async (header: JWSHeaderParameters): Promise<CryptoKey> => {
    let set = this.document.current();
    if (set === undefined) {
      set = await this.document.load();
      if (set === undefined) throw new KeysUnavailable(this.document.lastError ?? `${this.document.url}: not fetched yet`);
    }
    try {
      return await set(header);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      const next = await this.#refetchForMiss();
      if (next === undefined || next === set) throw err;
      return next(header);
    }
  };

  /** A newer key set for a kid miss: joins a fetch in flight, or starts one if the interval allows; else undefined. */
  async #refetchForMiss(): Promise<LocalJWKSet | undefined> {
    if (!this.document.fetching) {
      const now = this.#now();
      if (now - this.#lastMissFetch < this.#refreshInterval) return undefined;
      this.#lastMissFetch = now;
    }
    await this.document.refresh();
    return this.document.current();
  }
}
