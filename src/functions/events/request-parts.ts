/** Pieces shared by the 1.0 and 2.0 events: headers grouped by name, the query decoded, AWS's time format. */
import { createHash } from 'node:crypto';
import { parseQuery } from '../../plugins/aws-sigv4/parse.ts';
import type { HttpRequestView } from './types.ts';

/**
 * The API Gateway resource template of an Expeditor route pattern: '/items/:id' → '/items/{id}', '/static/*' →
 * '/static/{proxy+}'. find-my-way extras are dropped: a parameter's regexp ('/:id(^\\d+)'), the optional mark
 * ('/:id?'); '::' is a literal colon.
 */
export function resourcePath(routePath: string): string {
  return routePath.replace(/::|:([A-Za-z0-9_$]+)(?:\([^)]*\))?\??|\*$/g, (match, name: string | undefined) => {
    if (match === '::') return ':';
    return name === undefined ? '{proxy+}' : `{${name}}`;
  });
}

/** Path parameters as the event carries them: the wildcard named `proxy`, absent values dropped. */
export function eventPathParameters(view: HttpRequestView): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [name, value] of Object.entries(view.pathParameters)) {
    if (value === undefined) continue;
    (out ??= {})[name === '*' ? 'proxy' : name] = value;
  }
  return out;
}

export interface HeaderGroup {
  /** The casing of the first occurrence. */
  name: string;
  values: string[];
}

/** Request headers grouped case-insensitively, keyed by lower-cased name, in first-seen order; HTTP/2 pseudo-headers left out. */
export function groupHeaders(rawHeaders: readonly string[]): Map<string, HeaderGroup> {
  const groups = new Map<string, HeaderGroup>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.startsWith(':')) continue;
    const lower = name.toLowerCase();
    const group = groups.get(lower);
    if (group === undefined) groups.set(lower, { name, values: [rawHeaders[i + 1]!] });
    else group.values.push(rawHeaders[i + 1]!);
  }
  return groups;
}

/** The last value of a header (what API Gateway's single-value maps keep), from grouped headers. */
export function lastValue(groups: Map<string, HeaderGroup>, lower: string): string | undefined {
  const values = groups.get(lower)?.values;
  return values === undefined ? undefined : values[values.length - 1];
}

/**
 * The query's parameters, decoded ('+' is a space, as API Gateway decodes them), every value of a repeated key in
 * order; `?flag` is `flag: ''`. A query with a malformed escape is passed undecoded rather than refused.
 */
export function eventQuery(rawQuery: string): Map<string, string[]> {
  return parseQuery(rawQuery) ?? parseQuery(rawQuery.replaceAll('%', '%25'))!;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's request time format, always UTC: '09/Apr/2015:12:34:56 +0000'. */
export function awsRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** The first label of the domain name, as `requestContext.domainPrefix`. */
export function domainPrefix(domainName: string): string {
  const dot = domainName.indexOf('.');
  return dot === -1 ? domainName : domainName.slice(0, dot);
}

/** A stable stand-in for REST API's resource id (6 characters, like AWS's), so a function sees one id per route. */
export function resourceId(routeName: string): string {
  return createHash('sha256').update(routeName).digest('base64url').slice(0, 6).toLowerCase();
}

/** The path with the stage in front, as API Gateway shows it for a named stage (not for `$default`). */
export function stagedPath(stage: string, path: string): string {
  return stage === '$default' ? path : `/${stage}${path}`;
}

export const DEFAULT_ACCOUNT_ID = '123456789012';
export const DEFAULT_API_ID = 'expeditor';

/** The request body as the event's `body` string (base64 or UTF-8), undefined for none or an empty one. */
export function bodyString(body: Buffer | undefined, base64: boolean): string | undefined {
  if (body === undefined || body.length === 0) return undefined;
  return body.toString(base64 ? 'base64' : 'utf8');
}
