import type { RouteSecrets } from '../../core/route.ts';

export const REDACTED = '[REDACTED]';

/**
 * Query parameters that carry credentials in common APIs (API keys, OAuth tokens, AWS presigned URLs, signed URLs).
 * Compared in lower case: redacting a parameter that happens to share a name costs nothing, leaking a key does.
 */
export const SECRET_QUERY: readonly string[] = [
  'apikey', 'api_key', 'api-key', 'access_token', 'id_token', 'refresh_token', 'client_secret', 'token', 'password',
  'sig', 'signature', 'x-amz-signature', 'x-amz-credential', 'x-amz-security-token',
];

/** Request headers that are never written in clear, whatever the config says. */
export const SECRET_HEADERS: readonly string[] = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'apikey', 'api-key', 'x-amz-security-token',
];

const lowered = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();

/** The route's secret query names in lower case, computed once per compiled route. */
function lowerSet(names: ReadonlySet<string>): ReadonlySet<string> {
  let l = lowered.get(names);
  if (l === undefined) {
    l = new Set([...names].map((n) => n.toLowerCase()));
    lowered.set(names, l);
  }
  return l;
}

/** The parameter name as a server reads it (`api%5Fkey` is `api_key` to the plugin that takes the key). */
function paramName(raw: string): string {
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw.toLowerCase();
  try {
    return decodeURIComponent(raw.replaceAll('+', ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/**
 * A raw query string (no `?`) with the values of secret parameters replaced by `[REDACTED]`; everything else is
 * kept byte for byte. `fixed` holds lower-case names; `route` is the route's own list (any case).
 */
export function redactQuery(query: string, fixed: ReadonlySet<string>, route: RouteSecrets | undefined): string {
  if (query === '') return query;
  const routeNames = route === undefined || route.query.size === 0 ? undefined : lowerSet(route.query);
  const parts = query.split('&');
  let changed = false;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const eq = part.indexOf('=');
    if (eq === -1 || eq === part.length - 1) continue;
    const name = paramName(part.slice(0, eq));
    if (fixed.has(name) || (routeNames !== undefined && routeNames.has(name))) {
      parts[i] = `${part.slice(0, eq)}=${REDACTED}`;
      changed = true;
    }
  }
  return changed ? parts.join('&') : query;
}

/** A URL (a Referer) with its secret query parameters redacted. */
export function redactUrl(url: string, fixed: ReadonlySet<string>, route: RouteSecrets | undefined): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const hash = url.indexOf('#', q);
  const query = hash === -1 ? url.slice(q + 1) : url.slice(q + 1, hash);
  const redacted = redactQuery(query, fixed, route);
  return redacted === query ? url : url.slice(0, q + 1) + redacted + (hash === -1 ? '' : url.slice(hash));
}
