/** Largest JSON document read from an identity provider (JWKS, discovery, introspection answer). */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
  /** Seconds the document may be cached (`Cache-Control: max-age`, less `Age`); undefined when the server says nothing; 0 for no-store/no-cache. */
  readonly maxAge: number | undefined;
}

/** Why a document could not be fetched: a short message for logs (never shown to clients). */
export class FetchError extends Error {}

export interface FetchOptions {
  /** POSTed as application/x-www-form-urlencoded; GET without. */
  readonly form?: URLSearchParams;
  readonly headers?: Record<string, string>;
  /** Statuses whose JSON body is returned (default 200 only). */
  readonly statuses?: readonly number[];
}

/**
 * GETs (or POSTs a form) and parses a JSON document, within `timeoutMs` for the whole exchange. A status not in
 * `statuses`, or a body that is not JSON or is over MAX_DOCUMENT_BYTES, is a FetchError.
 */
export async function fetchJson(url: string, timeoutMs: number, init: FetchOptions = {}): Promise<JsonResponse> {
  const signal = AbortSignal.timeout(timeoutMs);
  let text: string;
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.form === undefined ? 'GET' : 'POST',
      headers: { accept: 'application/json', ...(init.form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }), ...init.headers },
      body: init.form?.toString(),
      signal,
    });
    if (!(init.statuses ?? [200]).includes(res.status)) {
      await res.body?.cancel();
      throw new FetchError(`${url} answered ${res.status}`);
    }
    text = await readCapped(res);
  } catch (err) {
    if (err instanceof FetchError) throw err;
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `timed out after ${timeoutMs}ms` : (e.cause?.code ?? e.message);
    throw new FetchError(`${url}: ${why}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new FetchError(`${url}: not JSON`);
  }
  return { status: res.status, body, maxAge: maxAge(res.headers) };
}

async function readCapped(res: Response): Promise<string> {
  const length = Number(res.headers.get('content-length') ?? NaN);
  if (length > MAX_DOCUMENT_BYTES) {
    await res.body?.cancel();
    throw new FetchError(`${res.url}: document over ${MAX_DOCUMENT_BYTES} bytes`);
  }
  if (res.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    if (size > MAX_DOCUMENT_BYTES) throw new FetchError(`${res.url}: document over ${MAX_DOCUMENT_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function maxAge(headers: Headers): number | undefined {
  const cc = headers.get('cache-control');
  if (cc === null) return undefined;
  let seconds: number | undefined;
  for (const directive of cc.toLowerCase().split(',')) {
    const [name, value] = directive.trim().split('=', 2) as [string, string | undefined];
    if (name === 'no-store' || name === 'no-cache') return 0;
    if (name === 'max-age' && value !== undefined && /^\d+$/.test(value.replace(/"/g, ''))) seconds = Number(value.replace(/"/g, ''));
  }
  if (seconds === undefined) return undefined;
  const age = Number(headers.get('age') ?? 0);
  return Number.isFinite(age) && age > 0 ? Math.max(0, seconds - age) : seconds;
}
