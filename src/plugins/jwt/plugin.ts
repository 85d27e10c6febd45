import { decodeJwt, decodeProtectedHeader, type JWSHeaderParameters, type JWTPayload } from 'jose';
import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import { parseDuration } from '../../config/units.ts';
import { ABSENT, invalid, type AuthResult, type Authenticator } from '../../identity/types.ts';
import { TokenSubjects, tokenIdentity } from '../../identity/token-subjects.ts';
import type { RequestContext } from '../../core/context.ts';
import { IssuerVerifier } from './verifier.ts';
import type { JwksSettings } from './jwks-cache.ts';
import { TokenSource, type TokenPlace } from '../../identity/token-source.ts';
import { JwtConfig } from './schema.ts';
import { VerifiedTokens } from './verified-cache.ts';

/** Longest token looked at; anything longer is refused before parsing. */
const MAX_TOKEN_LENGTH = 16 * 1024;

export const jwt = definePlugin({
  name: 'jwt',
  description: 'Authenticates requests by JSON Web Token (JWKS, OIDC discovery).',
  priority: 1300,
  kind: 'authentication',
  schema: JwtConfig,
  create(config, scope): PluginHandlers {
    const jwks: JwksSettings = {
      defaultTtl: parseDuration(config.jwks.defaultTtl),
      minTtl: parseDuration(config.jwks.minTtl),
      maxTtl: parseDuration(config.jwks.maxTtl),
      timeout: parseDuration(config.jwks.timeout),
      refreshInterval: parseDuration(config.jwks.refreshInterval),
      retryMax: parseDuration(config.jwks.refreshInterval),
    };
    if (jwks.minTtl > jwks.maxTtl) throw new PluginConfigError('jwks.minTtl', 'is longer than `jwks.maxTtl`');
    const checks = {
      clockSkew: parseDuration(config.clockSkew) / 1000,
      maxTokenAge: config.maxTokenAge === undefined ? undefined : parseDuration(config.maxTokenAge) / 1000,
    };
    const byIssuer = new Map<string, IssuerVerifier>();
    let fallback: IssuerVerifier | undefined;
    config.issuers.forEach((ic, i) => {
      const v = new IssuerVerifier(ic, checks, jwks, `issuers[${i}]`);
      if (ic.issuer === undefined) {
        if (fallback !== undefined) throw new PluginConfigError(`issuers[${i}].issuer`, 'only one entry may leave out `issuer`');
        fallback = v;
      } else {
        if (byIssuer.has(ic.issuer)) throw new PluginConfigError(`issuers[${i}].issuer`, `issuer "${ic.issuer}" is listed twice`);
        byIssuer.set(ic.issuer, v);
      }
    });
    const source = new TokenSource(config.tokenFrom);
    if (!config.tokenFrom.authorization && source.secrets.cookies === undefined && source.secrets.query === undefined) {
      throw new PluginConfigError('tokenFrom', 'reads the token from nowhere: enable `authorization` or name a `cookie` or `query` parameter');
    }
    const subjects = new TokenSubjects(scope.consumers);
    const verified = new VerifiedTokens(
      config.verifiedCache.maxEntries, parseDuration(config.verifiedCache.ttl), checks.clockSkew * 1000,
      checks.maxTokenAge === undefined ? undefined : checks.maxTokenAge * 1000,
    );
    const challenge = `Bearer realm="${scope.auth.realm}"`;
    const invalidChallenge = `${challenge}, error="invalid_token"`;
    const refuse = (reason: string): AuthResult => invalid(reason, invalidChallenge);

    // Synchronous up to the signature check: a token seen before answers without a promise.
    const authenticate = (ctx: RequestContext): AuthResult | Promise<AuthResult> => {
      const found = source.read(ctx);
      if (found === undefined) return ABSENT;
      if ('malformed' in found) return refuse(found.malformed);
      const { token } = found;
      if (token.length > MAX_TOKEN_LENGTH) return refuse('token too long');
      const hit = verified.get(token);
      if (hit !== undefined) return accept(ctx, found.place, hit.claims, byIssuer.get(hit.issuer ?? '') ?? fallback!, hit.kid);
      return verify(ctx, found.place, token);
    };

    const verify = async (ctx: RequestContext, place: TokenPlace, token: string): Promise<AuthResult> => {
      let header: JWSHeaderParameters;
      let unverified: JWTPayload;
      try {
        header = decodeProtectedHeader(token);
        unverified = decodeJwt(token);
      } catch {
        return refuse('not a JWT');
      }
      const iss = typeof unverified.iss === 'string' ? unverified.iss : undefined;
      const verifier = (iss === undefined ? undefined : byIssuer.get(iss)) ?? fallback;
      if (verifier === undefined) return refuse(`issuer ${JSON.stringify(iss)} not trusted`);
      const v = await verifier.verify(token, header);
      if (!v.ok) return v.unavailable ? { outcome: 'unavailable', reason: v.reason } : refuse(v.reason);
      verified.set(token, verifier.issuer, v.claims, typeof header.kid === 'string' ? header.kid : undefined);
      return accept(ctx, place, v.claims, verifier, typeof header.kid === 'string' ? header.kid : undefined);
    };

    const accept = (ctx: RequestContext, place: TokenPlace, claims: JWTPayload, verifier: IssuerVerifier, kid: string | undefined): AuthResult => {
      const credentialId = `jwt:${claims.iss ?? 'static'}${kid !== undefined ? `#${kid}` : ''}`;
      const identity = tokenIdentity(subjects, claims, verifier, claims.iss, 'jwt', credentialId);
      if (typeof identity === 'string') return refuse(identity);
      if (config.hideCredentials) source.hide(ctx, place);
      return { outcome: 'success', identity };
    };

    const authenticator: Authenticator = { challenge, authenticate };
    return { authenticator, secrets: source.secrets };
  },
});
