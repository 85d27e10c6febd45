import type { IdGenerator } from '@opentelemetry/sdk-trace';

/** A valid incoming `traceparent`, split. */
export interface Traceparent {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  /** The flags byte as sent (bits other than "sampled" are kept for the span context). */
  readonly flags: number;
}

/** Whether s[from, to) is lower-case hex and not all zeros. */
function hexNonZero(s: string, from: number, to: number): boolean {
  let nonZero = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 48 /* 0 */) continue;
    if ((c < 49 || c > 57) && (c < 97 || c > 102)) return false;
    nonZero = true;
  }
  return nonZero;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
}

/**
 * Parses a `traceparent` header as W3C Trace Context (level 1) says a receiver must: version 00 is exactly
 * `00-<32 hex>-<16 hex>-<2 hex>`; a later version may append `-…` fields, which are ignored; version ff, upper-case
 * hex and all-zero ids are invalid. Node joins repeated headers with ", ", so two `traceparent`s are invalid too.
 * Returns undefined for anything invalid. Hand-written because it runs for every request: the same answers as
 * @opentelemetry/core's parseTraceParent (a test checks them), without its regular expression.
 */
export function parseTraceparent(value: string | string[] | undefined): Traceparent | undefined {
  if (typeof value !== 'string' || value.length < 55) return undefined;
  const v0 = value.charCodeAt(0);
  const v1 = value.charCodeAt(1);
  if (!isHex(v0) || !isHex(v1) || (v0 === 102 && v1 === 102)) return undefined;
  if (value.length > 55 && ((v0 === 48 && v1 === 48) || value.charCodeAt(55) !== 45)) return undefined;
  if (value.charCodeAt(2) !== 45 || value.charCodeAt(35) !== 45 || value.charCodeAt(52) !== 45) return undefined;
  if (!hexNonZero(value, 3, 35) || !hexNonZero(value, 36, 52)) return undefined;
  const f0 = value.charCodeAt(53);
  const f1 = value.charCodeAt(54);
  if (!isHex(f0) || !isHex(f1)) return undefined;
  const flags = Number.parseInt(value.slice(53, 55), 16);
  return { traceId: value.slice(3, 35), spanId: value.slice(36, 52), sampled: (flags & 1) === 1, flags };
}

/** `traceparent` for a context (version 00; only the sampled flag is sent). */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

/**
 * Replaces the trace headers of a flat [name, value, …] header list: with `strip` (the client sent some), its own
 * `traceparent` and `tracestate` (any case) are removed; then the given ones are appended.
 */
export function setTraceHeaders(headers: string[], traceparent: string, tracestate: string | undefined, strip: boolean): void {
  if (strip) {
    let w = 0;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if ((name.length === 11 || name.length === 10) && isTraceHeader(name.toLowerCase())) continue;
      headers[w++] = name;
      headers[w++] = headers[i + 1]!;
    }
    headers.length = w;
  }
  headers.push('traceparent', traceparent);
  if (tracestate !== undefined && tracestate !== '') headers.push('tracestate', tracestate);
}

function isTraceHeader(lower: string): boolean {
  return lower === 'traceparent' || lower === 'tracestate';
}

const POOL_BYTES = 4096;
const ZERO_SPAN = '0'.repeat(16);
const ZERO_TRACE = '0'.repeat(32);

/**
 * Trace and span ids from a pool of random bytes, refilled 4 KiB at a time (a request costs a slice and a hex
 * conversion). Math.random, as the SDK's own generator uses: ids must be unique, not secret, and the CSPRNG's
 * refills measured ~10 times the cost. Also the SDK's id generator, so a sampled root span gets the trace id the
 * sampling decision was made on: `nextTraceId` hands it over for the one span started right after (synchronously).
 */
export class IdSource implements IdGenerator {
  readonly #pool = Buffer.allocUnsafe(POOL_BYTES);
  #at = POOL_BYTES;
  /** The trace id the next root span takes, set just before starting it. */
  nextTraceId: string | undefined = undefined;

  #hex(bytes: number, zero: string): string {
    for (;;) {
      if (this.#at + bytes > POOL_BYTES) this.#refill();
      const id = this.#pool.toString('hex', this.#at, this.#at + bytes);
      this.#at += bytes;
      if (id !== zero) return id;
    }
  }

  #refill(): void {
    const pool = this.#pool;
    for (let i = 0; i < POOL_BYTES; i += 4) pool.writeUInt32LE((Math.random() * 0x100000000) >>> 0, i);
    this.#at = 0;
  }

  traceId(): string {
    return this.#hex(16, ZERO_TRACE);
  }

  spanId(): string {
    return this.#hex(8, ZERO_SPAN);
  }

  generateTraceId(): string {
    const next = this.nextTraceId;
    if (next === undefined) return this.traceId();
    this.nextTraceId = undefined;
    return next;
  }

  generateSpanId(): string {
    return this.spanId();
  }
}
