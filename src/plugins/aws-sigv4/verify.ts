import { timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import type { GatewayRequest } from '../../core/context.ts';
import { ALGORITHM, type SignatureClaim } from './parse.ts';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** smithy's HttpRequest (from @smithy/types, which this package does not depend on directly). */
type SignerRequest = Parameters<SignatureV4['presign']>[0];

/**
 * Recomputes signatures with `@smithy/signature-v4` (the signer of the AWS SDK for JavaScript) for one secret: the
 * canonical request (path normalisation and escaping, query encoding and sorting), the string to sign and the key
 * derivation are the SDK's own, so they are exactly what AWS clients compute. This class only hands it the request
 * as the client sent it and compares.
 *
 * It goes through the signer's canonical-request step rather than `sign(request)`: that entry point clones the
 * query with a quadratic copy (a long query would cost milliseconds before any check) and rewrites X-Amz-Date and
 * Date itself. Presigned URLs take the same path: their X-Amz-* parameters (all but X-Amz-Signature, which the
 * canonical query leaves out) are part of the canonical query as the client sent them.
 */
export class SignatureVerifier extends SignatureV4 {
  constructor(accessKeyId: string, secretAccessKey: string, uriEscapePath: boolean) {
    super({
      credentials: { accessKeyId, secretAccessKey },
      // Both come from the credential scope of each request.
      region: 'unused',
      service: 'unused',
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath,
    });
  }

  /** Whether `claim.signature` signs `request`, whose body hashes to `payloadHash` (hex, or UNSIGNED-PAYLOAD). */
  async verify(claim: SignatureClaim, signingTime: number, request: ReceivedRequest, payloadHash: string): Promise<boolean> {
    const req = { method: request.method, protocol: 'https:', hostname: 'unused', path: request.path, query: request.query, headers: request.headers };
    const canonical = this.createCanonicalRequest(req as SignerRequest, request.headers, payloadHash);
    const scope = `${claim.scopeDate}/${claim.region}/${claim.service}/aws4_request`;
    const stringToSign = await this.createStringToSign(claim.amzDate!, scope, canonical, ALGORITHM);
    const expected = await this.sign(stringToSign, { signingDate: new Date(signingTime), signingRegion: claim.region, signingService: claim.service });
    if (expected.length !== 64) return false;
    return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(claim.signature, 'hex'));
  }
}

/** The parts of the request as received that a signature covers. */
export interface ReceivedRequest {
  readonly method: string;
  /** The path exactly as sent, before the gateway normalises it. */
  readonly path: string;
  /** Decoded query, repeated names kept. */
  readonly query: Record<string, string | string[]>;
  /** The signed headers only, lower-case names, values in canonical form (trimmed, inner whitespace folded). */
  readonly headers: Record<string, string>;
}

/** The raw request target split into path and query (origin-form; absolute-form loses its scheme and authority). */
export function rawTarget(req: GatewayRequest): { path: string; query: string } {
  let url = req.url ?? '/';
  if (url[0] !== '/') {
    const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(url);
    url = m === null ? url : url.slice(m[0].length) || '/';
  }
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/**
 * The values of the signed headers as received, in SigV4's canonical form: every occurrence of each, trimmed, runs of
 * spaces and tabs folded to one space, joined with `,`. `host` falls back to `:authority` on HTTP/2. Returns the name
 * of a signed header that the request does not carry, if any.
 */
export function signedHeaderValues(req: GatewayRequest, names: readonly string[]): { headers: Record<string, string> } | { missing: string } {
  const wanted = new Map<string, string[]>();
  for (const n of names) wanted.set(n, []);
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const list = wanted.get(raw[i]!.toLowerCase());
    if (list !== undefined) list.push(raw[i + 1]!.replace(/[ \t]+/g, ' ').trim());
  }
  // Null prototype: a header or parameter named `__proto__` is just a name.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, values] of wanted) {
    if (values.length === 0 && name === 'host') {
      const authority = (req as { authority?: string }).authority ?? req.headers[':authority'];
      if (typeof authority === 'string') values.push(authority);
    }
    if (values.length === 0) return { missing: name };
    headers[name] = values.join(',');
  }
  return { headers };
}

/** The query as the signer takes it: one string per name, or the list for a repeated name. */
export function queryRecord(params: ReadonlyMap<string, readonly string[]>): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [name, values] of params) out[name] = values.length === 1 ? values[0]! : [...values];
  return out;
}
