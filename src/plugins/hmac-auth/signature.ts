import type { RequestContext } from '../../core/context.ts';

/**
 * The signature a request carries and the string it signs (HTTP Signatures, draft-cavage-http-signatures, in the
 * form Kong's hmac-auth uses). Three places are accepted:
 * - `Authorization: hmac username="…", algorithm="…", headers="…", signature="…"` (Kong);
 * - `Authorization: Signature keyId="…", …` and the `Signature: keyId="…", …` header (draft-cavage).
 */

export interface SignatureParams {
  /** `username` (hmac scheme) or `keyId` (Signature scheme). */
  readonly user: string;
  readonly algorithm: string;
  /** Lower-cased names, in the order signed. */
  readonly headers: readonly string[];
  readonly signature: string;
  /** Which request header carried it (to hide it upstream). */
  readonly from: 'authorization' | 'signature';
}

/** `key="value"` (or key=token) pairs separated by commas. */
const PARAM = /[ \t]*([A-Za-z]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))[ \t]*(?:,|$)/y;

/** The parameters of an auth-param list; undefined when malformed or a parameter is repeated. */
export function parseParams(text: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  PARAM.lastIndex = 0;
  while (PARAM.lastIndex < text.length) {
    const start = PARAM.lastIndex;
    const m = PARAM.exec(text);
    if (m === null || PARAM.lastIndex === start) return undefined;
    const key = m[1]!.toLowerCase();
    if (out.has(key)) return undefined;
    out.set(key, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  }
  return out;
}

export type Found = SignatureParams | 'absent' | 'malformed';

/** The signature on a request, if it carries one. */
export function findSignature(ctx: RequestContext): Found {
  const auth = ctx.header('authorization');
  if (auth !== undefined) {
    const sp = auth.indexOf(' ');
    const scheme = (sp === -1 ? auth : auth.slice(0, sp)).toLowerCase();
    if (scheme === 'hmac' || scheme === 'signature') {
      return sp === -1 ? 'malformed' : fromParams(auth.slice(sp + 1), scheme === 'hmac' ? 'username' : 'keyid', 'authorization');
    }
  }
  const sig = ctx.header('signature');
  if (sig !== undefined) return fromParams(sig, 'keyid', 'signature');
  return 'absent';
}

function fromParams(text: string, userParam: 'username' | 'keyid', from: SignatureParams['from']): Found {
  const p = parseParams(text);
  if (p === undefined) return 'malformed';
  const user = p.get(userParam);
  const algorithm = p.get('algorithm');
  const signature = p.get('signature');
  if (user === undefined || user === '' || algorithm === undefined || signature === undefined) return 'malformed';
  // draft-cavage: without `headers`, only the Date header is signed.
  const headers = (p.get('headers') ?? 'date').toLowerCase().split(' ').filter((h) => h !== '');
  if (headers.length === 0 || new Set(headers).size !== headers.length) return 'malformed';
  return { user, algorithm: algorithm.toLowerCase(), headers, signature, from };
}

/** A request header's value as signed: every value of a repeated header, joined with ", ". */
function headerValue(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.req.headers[name] ?? (name === 'host' ? ctx.req.headers[':authority'] : undefined);
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * The signing string: one `name: value` line per signed header, joined by "\n". `request-line` is
 * `METHOD target HTTP/x.y` with the request target exactly as the client sent it and its real protocol version (as
 * Kong: `HTTP/2.0` over HTTP/2); `(request-target)` (draft-cavage) and `@request-target` (Kong's newer name) are
 * `name: method target` with the method in lower case, the same whatever the protocol. Returns the name of the
 * first signed header the request lacks.
 */
export function signingString(ctx: RequestContext, headers: readonly string[]): string | { missing: string } {
  const target = ctx.req.url ?? '/';
  const lines: string[] = [];
  for (const name of headers) {
    if (name === 'request-line') {
      lines.push(`${ctx.method} ${target} HTTP/${ctx.req.httpVersion}`);
    } else if (name === '(request-target)' || name === '@request-target') {
      lines.push(`${name}: ${ctx.method.toLowerCase()} ${target}`);
    } else {
      const v = headerValue(ctx, name);
      if (v === undefined) return { missing: name };
      lines.push(`${name}: ${v}`);
    }
  }
  return lines.join('\n');
}

const DIGESTS: Record<string, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

/** The `Digest` header's entries this gateway can check (RFC 3230: `SHA-256=<base64>`), by Node hash name. */
export function parseDigest(header: string): Array<[algorithm: string, value: Buffer]> | undefined {
  const out: Array<[string, Buffer]> = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) return undefined;
    const alg = DIGESTS[part.slice(0, eq).trim().toLowerCase()];
    if (alg === undefined) continue;
    const value = part.slice(eq + 1).trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
    out.push([alg, Buffer.from(value, 'base64')]);
  }
  return out.length === 0 ? undefined : out;
}
