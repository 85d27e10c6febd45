import type { RequestContext } from '../core/context.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { Reply } from '../core/reply.ts';
import type { ResponseTap } from '../core/tap.ts';
import { HOP_BY_HOP } from '../upstream/headers.ts';
import type { CachedResponse, StoredHeaders } from './entry.ts';
import type { Lead } from './coalescer.ts';
import type { CachePolicy } from './policy.ts';
import { storedReply } from './serve.ts';
import { headersAfter304, notModifiedApplies } from './conditional.ts';
import { usability } from './freshness.ts';

/** The client's own conditional and range headers: the cache replaces them when it revalidates for itself. */
export const CLIENT_CONDITIONALS: readonly string[] = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];

/** Statuses RFC 5861 §4 counts as an error a stale-if-error response may stand in for. */
const ORIGIN_ERRORS: ReadonlySet<number> = new Set([500, 502, 503, 504]);

/**
 * Response headers as a lower-case record, minus what is never stored: hop-by-hop fields (and those Connection
 * names), Content-Length (the body's length is known) and the surrogate-key headers (returned apart as tags).
 */
export function storedHeaders(pairs: Iterable<readonly [string, string]>, tagHeaders: ReadonlySet<string>): { headers: StoredHeaders; tags: string[] } {
  const pairsOut: Array<[string, string]> = [];
  const tags: string[] = [];
  let listed: Set<string> | undefined;
  for (const [rawName, value] of pairs) {
    const name = rawName.toLowerCase();
    if (name === 'connection') for (const t of value.split(',')) (listed ??= new Set()).add(t.trim().toLowerCase());
    if (HOP_BY_HOP.has(name) || name === 'content-length' || name === 'connection') continue;
    if (tagHeaders.has(name)) {
      for (const t of value.split(/[\s,]+/)) if (t !== '') tags.push(t);
      continue;
    }
    pairsOut.push([name, value]);
  }
  const headers: StoredHeaders = recordFromPairs(pairsOut);
  if (listed !== undefined) for (const n of listed) delete headers[n];
  return { headers, tags };
}

/** The Content-Length of raw response headers, when there is one. */
function contentLength(raw: readonly Buffer[]): number | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 14 && raw[i]!.toString('latin1').toLowerCase() === 'content-length') return Number(raw[i + 1]!.toString('latin1'));
  }
  return undefined;
}

/** Raw header buffers as [name, value] pairs. */
export function* rawPairs(raw: readonly Buffer[]): Generator<readonly [string, string]> {
  for (let i = 0; i < raw.length; i += 2) yield [raw[i]!.toString('latin1'), raw[i + 1]!.toString('latin1')];
}

/** [name, value] pairs as a lower-case record, repeated names as arrays. */
export function recordFromPairs(pairs: Iterable<readonly [string, string]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    const name = k.toLowerCase();
    const old = out[name];
    out[name] = old === undefined ? v : Array.isArray(old) ? [...old, v] : [old, v];
  }
  return out;
}

/** A header record (undici's, Node's) as [name, value] pairs. */
export function* recordPairs(record: Record<string, string | string[] | undefined>): Generator<readonly [string, string]> {
  for (const [k, v] of Object.entries(record)) {
    if (v === undefined) continue;
    if (typeof v === 'string') yield [k, v];
    else for (const x of v) yield [k, x];
  }
}

/**
 * Watches the upstream's answer to a cacheable GET (a miss, or the revalidation of a stored response) and stores
 * it when RFC 9111 and the route's config allow, as it streams to the client: chunks are copied as they pass,
 * and kept only once the whole body arrived and fitted `maxObjectSize`. Releases the coalescing lead, if it holds
 * one, as soon as the outcome is known (stored, or not storable).
 */
export class CacheFill implements ResponseTap {
  readonly policy: CachePolicy;
  readonly ctx: RequestContext;
  readonly primary: string;
  /** The stored response being revalidated (its validators were sent), if any. */
  readonly stored: CachedResponse | undefined;
  /** Cache-Status `fwd` reason of this exchange. */
  readonly fwd: 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale';
  lead: Lead | undefined;
  /** Whether a stored response may stand in for an upstream failure (stale-if-error, or a forced revalidation). */
  readonly staleOnError: boolean;
  #chunks: Buffer[] | undefined = undefined;
  #size = 0;
  #pending: Omit<CachedResponse, 'body'> | undefined = undefined;
  #vary: readonly string[] = [];
  settled = false;

  constructor(policy: CachePolicy, ctx: RequestContext, primary: string, fwd: CacheFill['fwd'], stored?: CachedResponse, staleOnError = false) {
    this.policy = policy;
    this.ctx = ctx;
    this.primary = primary;
    this.fwd = fwd;
    this.stored = stored;
    this.staleOnError = staleOnError;
  }

  headers(status: number, rawHeaders: readonly Buffer[]): Reply | undefined {
    const policy = this.policy;
    const ctx = this.ctx;
    const now = Date.now();
    const requestTime = Math.round(performance.timeOrigin + ctx.upstreamStart);
    const { headers, tags } = storedHeaders(rawPairs(rawHeaders), policy.tagHeaders);
    const stored = this.stored;
    // A 304 about another response than the stored one (§4.3.4) updates nothing; it goes to the client as it is.
    if (stored !== undefined && status === 304 && notModifiedApplies(stored.headers, headers)) {
      const merged = headersAfter304(stored.headers, headers, { responseTime: now, storeSetCookie: policy.storeSetCookie }) as StoredHeaders;
      const entry = policy.entry(ctx, stored.status, merged, stored.body, stored.tags, requestTime, now) ?? { ...stored, headers: merged, requestTime, responseTime: now };
      this.settled = true;
      void policy.store(ctx, this.primary, entry).finally(() => this.#release());
      policy.count('revalidated', ctx);
      const age = usability(policy.usabilityInput(ctx, entry, now)).ageMs;
      return storedReply(ctx, entry, age, policy.status({ fwd: this.fwd, fwdStatus: 304, stored: true }));
    }
    if (stored !== undefined && this.staleOnError && ORIGIN_ERRORS.has(status)) {
      const reply = this.#stale(status);
      if (reply !== undefined) return reply;
    }
    const verdict = policy.decide(ctx, status, headers, tags, requestTime, now, contentLength(rawHeaders));
    const cacheStatus = policy.status({ fwd: this.fwd, fwdStatus: status, stored: verdict.store, detail: verdict.store ? undefined : verdict.reason });
    if (cacheStatus !== undefined) ctx.responseHeaders.addHeader('cache-status', cacheStatus);
    for (const h of policy.tagHeaders) ctx.responseHeaders.removeHeader(h);
    if (!verdict.store) {
      policy.count('not-stored');
      this.#finish();
      return undefined;
    }
    this.#pending = verdict.entry;
    this.#vary = verdict.vary;
    this.#chunks = [];
    return undefined;
  }

  data(chunk: Buffer): void {
    const chunks = this.#chunks;
    if (chunks === undefined) return;
    this.#size += chunk.length;
    if (this.#size > this.policy.maxObjectSize) {
      this.policy.count('not-stored');
      this.#finish();
      return;
    }
    chunks.push(chunk);
  }

  end(): void {
    const chunks = this.#chunks;
    const pending = this.#pending;
    if (chunks === undefined || pending === undefined) return this.#finish();
    this.#chunks = undefined;
    this.settled = true;
    const entry: CachedResponse = { ...pending, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size) };
    this.policy.count('stored');
    void this.policy.store(this.ctx, this.primary, entry, this.#vary).finally(() => this.#release());
  }

  aborted(): void {
    this.#finish();
  }

  failed(code: ErrorCode): Reply | undefined {
    const reply = this.stored !== undefined && this.staleOnError ? this.#stale(undefined, code) : undefined;
    this.#finish();
    return reply;
  }

  /** The stored response in place of an upstream failure, if stale-if-error (or a forced revalidation) allows. */
  #stale(status: number | undefined, code?: ErrorCode): Reply | undefined {
    const policy = this.policy;
    const entry = this.stored!;
    const u = usability(policy.usabilityInput(this.ctx, entry, Date.now()));
    if (u.usability.use !== 'stale-if-error') return undefined;
    this.#finish();
    policy.count('stale', this.ctx);
    const detail = code !== undefined ? `stale-if-error ${code}` : 'stale-if-error';
    return storedReply(this.ctx, entry, u.ageMs, policy.status({ fwd: 'stale', fwdStatus: status, detail, ttlSeconds: Math.floor((u.freshnessMs - u.ageMs) / 1000) }));
  }

  /** Nothing (more) will be stored from this exchange: waiters may go on. Idempotent. */
  #finish(): void {
    this.#chunks = undefined;
    this.settled = true;
    this.#release();
  }

  #release(): void {
    this.lead?.release();
    this.lead = undefined;
  }

  /** The exchange ended (log phase) without the tap hearing the end: a client that left, a reply before upstream. */
  close(): void {
    if (!this.settled) this.#finish();
  }
}
