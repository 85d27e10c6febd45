import type { RequestContext } from '../core/context.ts';

/** The key's parts, compiled from the plugin's `key` config. */
export interface CacheKeySpec {
  query: 'all' | 'none' | ReadonlySet<string>;
  /** Lower-case header names. */
  headers: readonly string[];
  host: boolean;
  consumer: boolean;
}

/**
 * The primary cache key of a request: `<path>[?<query>] <host> r:<route>[ h:<name>=<value>…][ c:<consumer>]`.
 * The path comes first so that purging by path prefix is a prefix match on keys. Query parameters are sorted by
 * name (values of one name keep their order); header values and consumer names are percent-encoded, so a space
 * only ever separates parts. Responses with Vary add the variant's signature (store.ts `variantKey`).
 */
export function primaryKey(ctx: RequestContext, spec: CacheKeySpec, query: string): string {
  let key = query === '' ? ctx.path : `${ctx.path}?${query}`;
  key += spec.host ? ` ${ctx.host}` : ' -';
  key += ` r:${ctx.route?.name ?? '-'}`;
  for (const name of spec.headers) {
    const v = ctx.req.headers[name];
    key += ` h:${name}=${v === undefined ? '' : encodeURIComponent(Array.isArray(v) ? v.join(', ') : v)}`;
  }
  if (spec.consumer) key += ` c:${ctx.consumer === undefined ? '' : encodeURIComponent(ctx.consumer.name)}`;
  return key;
}

function paramName(pair: string): string {
  const eq = pair.indexOf('=');
  const raw = eq === -1 ? pair : pair.slice(0, eq);
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/**
 * The query as the key sees it: sorted by name (stable), filtered to the allow-list, or dropped. The same string
 * is what goes upstream when the key filters, so a parameter left out of the key can never change the answer.
 */
export function keyQuery(query: string, spec: CacheKeySpec['query']): string {
  if (query === '' || spec === 'none') return '';
  const pairs = query.split('&').filter((p) => p !== '');
  const named = pairs.map((p) => [paramName(p), p] as const);
  const kept = spec === 'all' ? named : named.filter(([n]) => spec.has(n));
  if (kept.length > 1) kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return kept.map(([, p]) => p).join('&');
}
