import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { definePlugin, type PluginHandlers } from '../../core/plugin.ts';
import type { RequestContext } from '../../core/context.ts';
import { parseDuration } from '../../config/units.ts';
import { readBody } from '../../identity/body.ts';
import { ABSENT, credentialState, invalid, type AuthResult } from '../../identity/types.ts';
import { HmacAuthConfig } from './schema.ts';
import { findSignature, parseDigest, signingString, type SignatureParams } from './signature.ts';

interface HmacEntry {
  readonly secret: Buffer;
  readonly revoked: boolean;
  /** Epoch ms; Infinity for no expiry. */
  readonly expiresAt: number;
  readonly success: AuthResult;
}

const MALFORMED = invalid('malformed signature parameters');
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Whether the request may carry a body (HTTP/2 says so by not ending the stream with the headers). */
function mayHaveBody(ctx: RequestContext): boolean {
  const length = ctx.header('content-length');
  if (length !== undefined) return length !== '0';
  if (ctx.header('transfer-encoding') !== undefined) return true;
  return ctx.req.httpVersionMajor === 2 && !(ctx.req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders;
}

export const hmacAuth = definePlugin({
  name: 'hmac-auth',
  description: 'Authenticates requests signed with a shared HMAC secret.',
  priority: 1400,
  kind: 'authentication',
  schema: HmacAuthConfig,
  create(config, scope): PluginHandlers {
    const users = new Map<string, HmacEntry>();
    for (const { consumer, credential, index } of scope.consumers.credentials('hmac-auth')) {
      users.set(credential.username, {
        secret: Buffer.from(credential.secret, 'utf8'),
        ...credentialState('hmac-auth', consumer, credential, index, credential.username),
      });
    }
    // An unknown user's signature is still computed (with a secret nobody has), so it takes as long to refuse.
    const decoy = randomBytes(32);
    const allowed = new Set<string>(config.algorithms);
    const skewMs = parseDuration(config.clockSkew);
    const enforced = config.enforceHeaders;

    /** Everything but the body: a reason to refuse, or the entry the signature proves. */
    const check = (ctx: RequestContext, sig: SignatureParams): string | HmacEntry => {
      if (!allowed.has(sig.algorithm)) return `algorithm "${sig.algorithm}" not allowed`;
      const dateHeader = sig.headers.includes('x-date') ? 'x-date' : sig.headers.includes('date') ? 'date' : undefined;
      if (dateHeader === undefined) return 'neither date nor x-date is signed';
      for (const h of enforced) if (!sig.headers.includes(h)) return `"${h}" is not signed`;
      const text = signingString(ctx, sig.headers);
      if (typeof text !== 'string') return `signed header "${text.missing}" is missing`;
      const date = Date.parse(ctx.header(dateHeader)!);
      if (Number.isNaN(date)) return `${dateHeader} is not a date`;
      if (Math.abs(Date.now() - date) > skewMs) return `${dateHeader} outside the allowed clock skew`;
      if (!BASE64.test(sig.signature)) return 'signature is not base64';
      const entry = users.get(sig.user);
      const expected = createHmac(sig.algorithm.slice(5), entry?.secret ?? decoy).update(text).digest();
      const given = Buffer.from(sig.signature, 'base64');
      const match = given.length === expected.length && timingSafeEqual(given, expected);
      if (entry === undefined) return 'unknown user';
      if (!match) return 'signature mismatch';
      if (entry.revoked) return 'credential revoked';
      if (Date.now() >= entry.expiresAt) return 'credential expired';
      return entry;
    };

    const accept = (ctx: RequestContext, sig: SignatureParams, entry: HmacEntry): AuthResult => {
      if (config.hideCredentials) ctx.requestHeaders.removeHeader(sig.from);
      return entry.success;
    };

    /** The body must match the Digest header: required and signed when there is a body, checked when sent anyway. */
    const checkDigest = async (ctx: RequestContext, sig: SignatureParams, entry: HmacEntry, digest: string | undefined): Promise<AuthResult> => {
      const body = mayHaveBody(ctx) ? await readBody(ctx) : Buffer.alloc(0);
      if (digest === undefined) return body.length === 0 ? accept(ctx, sig, entry) : invalid('body without a Digest header');
      if (body.length > 0 && !sig.headers.includes('digest')) return invalid('digest is not signed');
      const entries = parseDigest(digest);
      if (entries === undefined) return invalid('no SHA-256 or SHA-512 value in the Digest header');
      for (const [algorithm, value] of entries) {
        const actual = createHash(algorithm).update(body).digest();
        if (value.length !== actual.length || !timingSafeEqual(value, actual)) return invalid('digest does not match the body');
      }
      return accept(ctx, sig, entry);
    };

    return {
      authenticator: {
        challenge: `hmac realm="${scope.auth.realm}", algorithms="${config.algorithms.join(' ')}"`,
        authenticate(ctx) {
          const sig = findSignature(ctx);
          if (sig === 'absent') return ABSENT;
          if (sig === 'malformed') return MALFORMED;
          const result = check(ctx, sig);
          if (typeof result === 'string') return invalid(result);
          const digest = ctx.header('digest');
          if (config.validateDigest && (digest !== undefined || mayHaveBody(ctx))) return checkDigest(ctx, sig, result, digest);
          return accept(ctx, sig, result);
        },
      },
      secrets: { headers: ['signature'] },
    };
  },
});
