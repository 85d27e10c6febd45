import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import type { RequestContext } from '../../core/context.ts';
import { parseDuration } from '../../config/units.ts';
import { ABSENT, invalid, type AuthResult, type Authenticator } from '../../identity/types.ts';
import { TokenSubjects, tokenIdentity } from '../../identity/token-subjects.ts';
import { issuerMetadata } from '../../identity/remote/discovery.ts';
import { SharedRegistry } from '../../identity/remote/remote-document.ts';
import { TokenSource, type TokenPlace } from '../../identity/token-source.ts';
import { AnswerCache, tokenKey, type Answer } from './answer-cache.ts';
import { basicCredentials, introspect } from './introspect.ts';
import { IntrospectionConfig } from './schema.ts';

/**
 * Answer caches shared by the instances that ask the same server as the same client with the same cache settings:
 * two routes share answers, and a config reload does not forget them.
 */
const caches = new SharedRegistry<AnswerCache>();

export const oauth2Introspection = definePlugin({
  name: 'oauth2-introspection',
  description: 'Authenticates requests by OAuth 2.0 token introspection (RFC 7662).',
  priority: 1200,
  kind: 'authentication',
  schema: IntrospectionConfig,
  create(config, scope): PluginHandlers {
    if ((config.endpoint !== undefined) === config.discovery) {
      throw new PluginConfigError('endpoint', 'give the `endpoint`, or `issuer` with `discovery: true` (not both)');
    }
    if (config.discovery && (config.issuer === undefined || !/^https?:\/\//.test(config.issuer))) {
      throw new PluginConfigError('issuer', 'an http(s) issuer URL is required with `discovery`');
    }
    const timeout = parseDuration(config.timeout);
    const settings = { ttl: parseDuration(config.ttl), negativeTtl: parseDuration(config.negativeTtl), maxEntries: config.maxEntries };
    const server = config.endpoint ?? `discovery:${config.issuer}`;
    const cache = caches.get(`${server}\u0000${config.clientId}\u0000${JSON.stringify(settings)}`, () => new AnswerCache(settings));
    const metadata = config.discovery
      ? issuerMetadata(config.issuer!, { defaultTtl: 3_600_000, minTtl: 60_000, maxTtl: 86_400_000, timeout, retryMax: 30_000 })
      : undefined;
    const client = { clientId: config.clientId, clientSecret: config.clientSecret, tokenTypeHint: config.tokenTypeHint, timeout };
    const authorization = basicCredentials(config.clientId, config.clientSecret);

    const ask = async (token: string): Promise<Answer> => {
      let endpoint = config.endpoint;
      if (metadata !== undefined) {
        const meta = metadata.current() ?? await metadata.load();
        if (meta === undefined) return { kind: 'unavailable', reason: `discovery: ${metadata.lastError ?? 'not fetched yet'}` };
        endpoint = meta.introspectionEndpoint;
        if (endpoint === undefined) return { kind: 'unavailable', reason: `discovery: ${metadata.url} names no introspection_endpoint` };
      }
      return introspect(endpoint!, token, client, authorization);
    };

    const source = new TokenSource(config.tokenFrom);
    if (!config.tokenFrom.authorization && source.secrets.cookies === undefined && source.secrets.query === undefined) {
      throw new PluginConfigError('tokenFrom', 'reads the token from nowhere: enable `authorization` or name a `cookie` or `query` parameter');
    }
    const subjects = new TokenSubjects(scope.consumers);
    const audiences = new Set(config.audiences);
    const challenge = `Bearer realm="${scope.auth.realm}"`;
    const invalidChallenge = `${challenge}, error="invalid_token"`;
    const refuse = (reason: string): AuthResult => invalid(reason, invalidChallenge);

    /** What an answer means for this route: checks beyond `active`, the consumer mapping, the identity. */
    const judge = (ctx: RequestContext, answer: Answer, place: TokenPlace): AuthResult => {
      if (answer.kind === 'unavailable') return { outcome: 'unavailable', reason: answer.reason };
      if (answer.kind === 'inactive') return refuse('token not active');
      const claims = answer.claims;
      const iss = typeof claims.iss === 'string' ? claims.iss : config.issuer;
      if (config.issuer !== undefined && iss !== config.issuer) return refuse(`answer names issuer ${JSON.stringify(iss)}`);
      if (audiences.size > 0) {
        const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
        if (!aud.some((a) => audiences.has(a as string))) return refuse('audience not accepted');
      }
      // A sender-constrained token (DPoP, mTLS-bound) must not be accepted as a plain bearer token.
      if (claims.cnf !== undefined) return refuse('sender-constrained token ("cnf") presented as a bearer token');
      const credentialId = `oauth2-introspection:${typeof claims.client_id === 'string' ? claims.client_id : 'token'}`;
      const identity = tokenIdentity(subjects, claims, config, iss, 'oauth2-introspection', credentialId);
      if (typeof identity === 'string') return refuse(identity);
      if (config.hideCredentials) source.hide(ctx, place);
      return { outcome: 'success', identity };
    };

    const authenticate = (ctx: RequestContext): AuthResult | Promise<AuthResult> => {
      const found = source.read(ctx);
      if (found === undefined) return ABSENT;
      if ('malformed' in found) return refuse(found.malformed);
      const { token, place } = found;
      const answer = cache.get(tokenKey(token), () => ask(token));
      return answer instanceof Promise ? answer.then((a) => judge(ctx, a, place)) : judge(ctx, answer, place);
    };

    const authenticator: Authenticator = { challenge, authenticate };
    return { authenticator, secrets: source.secrets };
  },
});
