import type { ErrorCode } from './errors.ts';
import type { Reply } from './reply.ts';

/**
 * A watcher of the backend's answer to one request (the response cache stores through it). The backend calls it
 * for the attempt whose response goes to the client, in this order: `headers`, then `data` for each body chunk,
 * then exactly one of `end` (the whole body arrived and was relayed) or `aborted` (the body was cut: never keep
 * it); or `failed` instead of all of them when no response came.
 *
 * `headers` and `failed` may divert the exchange: returning a Reply makes the backend send that reply instead of
 * the upstream's answer (a stored response after a 304 revalidation, a stale one when the upstream fails). The
 * backend then reads and drops the upstream's body and calls nothing more on the tap.
 */
export interface ResponseTap {
  /** Response headers (raw, as received); runs before the response phase, so the tap may edit ctx.responseHeaders. */
  headers(status: number, rawHeaders: readonly Buffer[]): Reply | undefined;
  data(chunk: Buffer): void;
  end(): void;
  aborted(): void;
  /** No response reached the client: the failure's code, after retries. */
  failed(code: ErrorCode): Reply | undefined;
}

/** A response fetched by the gateway for itself (a background revalidation), body read in full. */
export interface FetchedResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** ms since epoch when the request was sent and when the response headers arrived. */
  requestTime: number;
  responseTime: number;
}
