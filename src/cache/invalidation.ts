import { firstValue, type Headers } from './header-fields.ts';

/** Methods defined as safe (RFC 9110 §9.2.1). Method names are case-sensitive: `get` is an unknown, unsafe one. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * The stored URLs an unsafe request invalidates (RFC 9111 §4.4): when a request with an unsafe or unknown method
 * gets a non-error (2xx or 3xx) response, its target, and the Location and Content-Location of the response when
 * they are on the same host (absolute URLs with another host are ignored, so a response cannot evict other
 * sites' entries; the request's scheme is not known here, so only the host and port are compared). Relative
 * references are resolved against the request path. Returns path + `?query` without the host, deduplicated:
 * the request's target as given, the others as URL resolution normalises them (dot segments removed, fragment
 * dropped). Empty for a safe method or an error status.
 */
export function invalidatedUrls(method: string, status: number, requestHost: string, requestPath: string, resHeaders: Headers): string[] {
  if (SAFE_METHODS.has(method) || status < 200 || status >= 400) return [];
  const out = [requestPath];
  let base: URL;
  try {
    base = new URL(`http://${requestHost}${requestPath}`); // not new URL(path, host): a path '//x/y' would change host
  } catch {
    return out;
  }
  for (const name of ['location', 'content-location']) {
    const ref = firstValue(resHeaders, name)?.trim();
    if (ref === undefined || ref === '') continue;
    let url: URL;
    try {
      url = new URL(ref, base);
    } catch {
      continue;
    }
    if (url.host !== base.host || (url.protocol !== 'http:' && url.protocol !== 'https:')) continue;
    const path = url.pathname + url.search;
    if (!out.includes(path)) out.push(path);
  }
  return out;
}
