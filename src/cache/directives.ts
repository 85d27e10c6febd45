import { headerValue, type Headers } from './header-fields.ts';

/**
 * Parsed Cache-Control directives (RFC 9111 §5.2): lower-case names; a directive without an argument is `true`,
 * one with an argument holds it as a string (a quoted-string unquoted, backslash escapes removed). When a
 * directive repeats, the first occurrence wins (§4.2.1). The object has no prototype, so a directive named
 * `constructor` or `__proto__` is just a directive.
 */
export interface CacheControl {
  [directive: string]: string | true;
}

/** Parses one or more Cache-Control field lines. Malformed members are kept as best understood, never thrown. */
export function parseCacheControl(value: string | string[] | undefined): CacheControl {
  const out = Object.create(null) as CacheControl;
  if (value === undefined) return out;
  const s = Array.isArray(value) ? value.join(', ') : value;
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
    let j = i;
    while (j < s.length && s[j] !== '=' && s[j] !== ',') j++;
    const name = s.slice(i, j).trim().toLowerCase();
    let arg: string | true = true;
    i = j;
    if (s[i] === '=') {
      i++;
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (s[i] === '"') {
        let v = '';
        for (i++; i < s.length && s[i] !== '"'; i++) v += s[i] === '\\' ? (s[++i] ?? '') : s[i];
        arg = v;
        while (i < s.length && s[i] !== ',') i++; // anything after the closing quote is junk
      } else {
        j = i;
        while (j < s.length && s[j] !== ',') j++;
        arg = s.slice(i, j).trim();
        i = j;
      }
    }
    if (name !== '' && !(name in out)) out[name] = arg;
  }
  return out;
}

/** The largest delta-seconds a cache must represent; bigger values (and overflows) clamp to it (RFC 9111 §1.2.2). */
export const DELTA_SECONDS_MAX = 2 ** 31;

/**
 * A directive's delta-seconds argument (RFC 9111 §1.2.2): a non-negative decimal integer, clamped to 2^31.
 * Undefined when the directive is absent, has no argument, or the argument is not such an integer.
 */
export function deltaSeconds(cc: CacheControl, name: string): number | undefined {
  const v = cc[name];
  return typeof v === 'string' ? parseDeltaSeconds(v) : undefined;
}

/** A delta-seconds value (the Age header, a directive argument), or undefined when it is not one. */
export function parseDeltaSeconds(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Math.min(Number(v), DELTA_SECONDS_MAX) : undefined;
}

/** True when the directive is present, with or without an argument. */
export function has(cc: CacheControl, name: string): boolean {
  return cc[name] !== undefined;
}

/**
 * A request's directives. Without a Cache-Control header, `Pragma: no-cache` counts as `no-cache` (RFC 9111
 * §5.4 — deprecated, but HTTP/1.0 clients and some tools still send only it).
 */
export function requestCacheControl(reqHeaders: Headers): CacheControl {
  const value = headerValue(reqHeaders, 'cache-control');
  if (value !== undefined) return parseCacheControl(value);
  const cc = parseCacheControl(undefined);
  if (has(parseCacheControl(headerValue(reqHeaders, 'pragma')), 'no-cache')) cc['no-cache'] = true;
  return cc;
}

/** The response's directives. */
export function responseCacheControl(resHeaders: Headers): CacheControl {
  return parseCacheControl(resHeaders['cache-control']);
}

/**
 * `only-if-cached` (RFC 9111 §5.2.1.7): the client wants a stored response or nothing. The caller answers a miss,
 * or an entry that would need the origin, with 504 (Gateway Timeout) instead of forwarding.
 */
export function onlyIfCached(reqHeaders: Headers): boolean {
  return has(parseCacheControl(reqHeaders['cache-control']), 'only-if-cached');
}
