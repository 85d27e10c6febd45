import { Type } from '@sinclair/typebox';
import { PluginConfigError } from '../../core/plugin.ts';
import { HOP_BY_HOP } from '../../upstream/headers.ts';

/**
 * Config-time checks for header names and values that plugins send. Everything here runs in `create`, never per
 * request: a header the gateway would refuse to write (Node throws ERR_INVALID_CHAR) must be a config error, not a
 * 500 on every request.
 */

/** RFC 9110 §5.6.2 token: the syntax of a field name (and of a method). */
export const TOKEN_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const TOKEN_RE = new RegExp(TOKEN_PATTERN);

/** Characters Node's http and undici refuse in a field value: controls other than HTAB (so CR, LF, NUL), DEL, and anything above U+00FF. */
const INVALID_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/** Connection-specific fields (RFC 9110 §7.6.1) and framing: the gateway manages these itself, per hop (one list, the proxy's). */
export { HOP_BY_HOP };

export const HeaderValueSchema = Type.Union([
  Type.String(),
  Type.Array(Type.String(), { minItems: 1 }),
], { description: 'A value, or a list of values sent as separate header lines.' });

export type HeaderValue = string | readonly string[];

export function isToken(s: string): boolean {
  return TOKEN_RE.test(s);
}

/** Config path of a record key, written as the config loader writes paths: `request.add.x-trace`, `request.add["bad name"]`. */
export function keyPath(base: string, key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

/** Throws unless `name` is a token; returns it lower-cased. */
export function checkHeaderName(path: string, name: string): string {
  if (!isToken(name)) throw new PluginConfigError(path, `invalid header name ${JSON.stringify(name)}: must be an RFC 9110 token (letters, digits and !#$%&'*+.^_\`|~-)`);
  return name.toLowerCase();
}

/** Throws when a header name is one the gateway manages per hop (hop-by-hop fields and content-length). */
export function refuseManagedHeader(path: string, lowerName: string): void {
  if (HOP_BY_HOP.has(lowerName)) throw new PluginConfigError(path, `"${lowerName}" is a hop-by-hop header managed by the gateway and cannot be edited`);
  if (lowerName === 'content-length') throw new PluginConfigError(path, '"content-length" is computed by the gateway and cannot be edited');
}

export function checkHeaderValue(path: string, value: string): string {
  const bad = INVALID_VALUE_CHAR.exec(value);
  if (bad !== null) {
    const cp = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new PluginConfigError(path, `invalid character U+${cp} in header value (CR, LF, NUL, other controls and characters above U+00FF are not allowed)`);
  }
  return value;
}

/** Validates a `{ name: value | [values] }` map: names are tokens, unique ignoring case, values writable. Returns lower-cased entries. */
export function compileHeaderMap(path: string, map: Readonly<Record<string, HeaderValue>>, allow: (lowerName: string, keyPath: string) => void = () => {}): Array<[string, HeaderValue]> {
  const out: Array<[string, HeaderValue]> = [];
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(map)) {
    const p = keyPath(path, name);
    const lower = checkHeaderName(p, name);
    const previous = seen.get(lower);
    if (previous !== undefined) throw new PluginConfigError(p, `header "${name}" is also given as "${previous}" (names are case-insensitive)`);
    seen.set(lower, name);
    allow(lower, p);
    if (typeof value === 'string') checkHeaderValue(p, value);
    else value.forEach((v, i) => checkHeaderValue(`${p}[${i}]`, v));
    out.push([lower, typeof value === 'string' ? value : Object.freeze([...value])]);
  }
  return out;
}
