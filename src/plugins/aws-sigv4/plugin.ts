import { createHash } from 'node:crypto';
import type { GatewayRequest, RequestContext } from '../../core/context.ts';
import { GatewayError } from '../../core/errors.ts';
import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import { parseDuration } from '../../config/units.ts';
import { readBody } from '../../identity/body.ts';
import { ABSENT, credentialLabel, invalid, type AuthResult, type Authenticator, type Identity } from '../../identity/types.ts';
import {
  isAwsAuthorization, parseAmzDate, parseAuthorization, parseQuery, parseQueryAuth, QUERY_PARAMS, SIGNATURE_QUERY_NAMES,
  withoutSignatureParams, type ParseResult, type SignatureClaim,
} from './parse.ts';
import { AwsSigv4Config } from './schema.ts';
import { queryRecord, rawTarget, signedHeaderValues, SignatureVerifier, UNSIGNED_PAYLOAD } from './verify.ts';

/** AWS's own limit for a presigned URL. */
const MAX_PRESIGNED_MS = 7 * 24 * 3600 * 1000;
const SHA256_HEADER = 'x-amz-content-sha256';
const HEX_SHA256 = /^[0-9a-f]{64}$/;

interface KeyEntry {
  readonly verifier: SignatureVerifier;
  readonly identity: Identity;
  readonly revoked: boolean;
  readonly expiresAt: number;
}

export const awsSigv4 = definePlugin({
  name: 'aws-sigv4',
  description: 'Authenticates requests signed with AWS Signature Version 4 (header or presigned URL), as AWS API Gateway IAM authorization does.',
  // After mtls-auth (the connection is known before any header is read), before the cheaper-to-forge methods.
  priority: 1500,
  kind: 'authentication',
  schema: AwsSigv4Config,
  create(config, scope): PluginHandlers {
    const skew = parseDuration(config.clockSkew);
    const maxPresigned = parseDuration(config.maxPresignedExpires);
    if (maxPresigned > MAX_PRESIGNED_MS) throw new PluginConfigError('maxPresignedExpires', 'must be at most 7 days (168h), as AWS allows');
    const services = new Set(config.services);
    const regions = config.regions.length === 0 ? undefined : new Set(config.regions);
    const required = ['host', ...config.requiredSignedHeaders];
    const challenge = `AWS4-HMAC-SHA256 realm="${scope.auth.realm}"`;

    const keys = new Map<string, KeyEntry>();
    for (const { consumer, credential, index } of scope.consumers.credentials('aws-sigv4')) {
      keys.set(credential.accessKeyId, {
        verifier: new SignatureVerifier(credential.accessKeyId, credential.secretAccessKey, config.uriEscapePath),
        identity: Object.freeze({
          method: 'aws-sigv4', consumer, subject: credential.accessKeyId, scopes: [],
          credentialId: credentialLabel(credential, consumer.name, index),
        }),
        revoked: credential.revoked === true,
        expiresAt: credential.expiresAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(credential.expiresAt),
      });
    }

    /** Everything that can be refused without the secret or the body: form, scope, dates, signed-header policy. */
    const check = (ctx: RequestContext, claim: SignatureClaim, now: number): string | number => {
      if (!services.has(claim.service)) return `service "${claim.service}" not accepted`;
      if (regions !== undefined && !regions.has(claim.region)) return `region "${claim.region}" not accepted`;
      if (claim.amzDate === undefined) return 'missing X-Amz-Date';
      const t = parseAmzDate(claim.amzDate);
      if (Number.isNaN(t)) return 'malformed X-Amz-Date';
      if (claim.amzDate.slice(0, 8) !== claim.scopeDate) return 'credential scope date is not the X-Amz-Date date';
      if (claim.form === 'header') {
        if (Math.abs(now - t) > skew) return 'X-Amz-Date outside the allowed clock skew';
      } else if (claim.expires === undefined) {
        if (Math.abs(now - t) > skew) return 'X-Amz-Date outside the allowed clock skew (no X-Amz-Expires)';
      } else {
        const lifetime = claim.expires * 1000;
        if (lifetime > maxPresigned) return 'X-Amz-Expires longer than maxPresignedExpires';
        if (t - now > skew) return 'X-Amz-Date in the future';
        if (now > t + lifetime) return 'presigned URL expired';
      }
      const signed = claim.signedHeaders;
      for (const name of required) if (!signed.includes(name)) return `${name} not signed`;
      if (claim.form === 'header' && !signed.includes('x-amz-date')) return 'x-amz-date not signed';
      if (ctx.req.headers[SHA256_HEADER] !== undefined && !signed.includes(SHA256_HEADER)) return 'x-amz-content-sha256 sent but not signed';
      return t;
    };

    const verify = async (ctx: RequestContext, claim: SignatureClaim, query: ReadonlyMap<string, readonly string[]>): Promise<AuthResult> => {
      const now = Date.now();
      const t = check(ctx, claim, now);
      if (typeof t === 'string') return invalid(t);
      const key = keys.get(claim.accessKeyId);
      if (key === undefined) return invalid('unknown access key id');
      if (key.revoked) return invalid('access key revoked');
      if (now >= key.expiresAt) return invalid('access key expired');
      const values = signedHeaderValues(ctx.req, claim.signedHeaders);
      if ('missing' in values) return invalid(`signed header ${values.missing} not in the request`);

      // The payload hash: the signed x-amz-content-sha256 when there is one (the body is checked against it only
      // once the signature holds, so a forged request is refused before its body is buffered), else the body's.
      const declared = values.headers[SHA256_HEADER];
      let payloadHash: string;
      if (declared === UNSIGNED_PAYLOAD) {
        if (!config.allowUnsignedPayload) return invalid('UNSIGNED-PAYLOAD not accepted');
        payloadHash = declared;
      } else if (declared !== undefined) {
        if (!HEX_SHA256.test(declared)) return invalid('unsupported x-amz-content-sha256 (streaming or malformed)');
        payloadHash = declared;
      } else {
        payloadHash = await bodyHash(ctx);
      }

      const received = { method: ctx.method, path: rawTarget(ctx.req).path, query: queryRecord(query), headers: values.headers };
      let ok = await key.verifier.verify(claim, t, received, payloadHash);
      // S3 presigners sign the payload as UNSIGNED-PAYLOAD without saying so anywhere in the URL.
      if (!ok && claim.form === 'query' && declared === undefined && config.allowUnsignedPayload) {
        ok = await key.verifier.verify(claim, t, received, UNSIGNED_PAYLOAD);
      }
      if (!ok) return invalid('signature mismatch');
      if (declared !== undefined && declared !== UNSIGNED_PAYLOAD && await bodyHash(ctx) !== declared) {
        return invalid('body does not match x-amz-content-sha256');
      }
      if (config.hideCredentials) {
        if (claim.form === 'header') ctx.requestHeaders.removeHeader('authorization');
        else ctx.upstreamQuery = withoutSignatureParams(ctx.upstreamQuery);
      }
      return { outcome: 'success', identity: key.identity };
    };

    const authenticator: Authenticator = {
      challenge,
      authenticate(ctx) {
        const authorization = ctx.header('authorization');
        const headerForm = authorization !== undefined && isAwsAuthorization(authorization);
        const raw = rawTarget(ctx.req).query;
        const mayBeQueryForm = raw.includes('X-Amz-');
        if (!headerForm && !mayBeQueryForm) return ABSENT;
        const query = parseQuery(raw);
        if (query === undefined) return headerForm ? invalid('malformed query string') : ABSENT;
        const queryClaim = parseQueryAuth(query);
        if (!headerForm && queryClaim === undefined) return ABSENT;
        if (ctx.req.headers['x-amz-security-token'] !== undefined || query.has(QUERY_PARAMS.securityToken)) {
          return invalid('session tokens (X-Amz-Security-Token) are not accepted');
        }
        let parsed: ParseResult;
        if (headerForm) {
          if (queryClaim !== undefined) return invalid('signed in both the Authorization header and the query');
          parsed = parseAuthorization(authorization, ctx.header('x-amz-date'));
        } else {
          if (!config.allowPresigned) return invalid('presigned URLs not accepted');
          parsed = queryClaim!;
        }
        if (!parsed.ok) return invalid(parsed.reason);
        return verify(ctx, parsed.claim, query).catch((err: unknown) => {
          // Over the body limit: the pipeline answers 413. Anything else (the client went away mid-body) refuses.
          if (err instanceof GatewayError) throw err;
          return invalid(`request could not be verified: ${(err as Error).message}`);
        });
      },
    };

    return {
      authenticator,
      secrets: { query: SIGNATURE_QUERY_NAMES, headers: ['x-amz-security-token'] },
    };
  },
});

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** SHA-256 (hex) of the body, read (and kept for the upstream) only when the request has one. */
async function bodyHash(ctx: RequestContext): Promise<string> {
  if (!mayHaveBody(ctx.req)) return EMPTY_SHA256;
  return createHash('sha256').update(await readBody(ctx)).digest('hex');
}

function mayHaveBody(req: GatewayRequest): boolean {
  if (req.httpVersionMajor === 2) return !(req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders;
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}
