import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../../core/context.ts';
import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import { problem } from '../../core/reply.ts';
import { parseDuration } from '../../config/units.ts';
import type { Logger } from '../../core/logger.ts';
import { InvokeError, type FunctionInvoker } from '../../functions/types.ts';
import { headerSafe } from '../../identity/header-safe.ts';
import { ABSENT, invalid, type AuthResult, type Identity } from '../../identity/types.ts';
import { queryParam } from '../key-auth/sources.ts';
import { methodArn, requestEvent, tokenEvent } from './authorizer-event.ts';
import { LambdaAuthorizerConfig, type LambdaAuthorizerConfigT } from './schema.ts';
import { identityKey, VerdictCache } from './verdict-cache.ts';
import { parsePolicyAnswer, parseSimpleAnswer, type ParsedAnswer, type Verdict } from './verdict.ts';
import { TOKEN_PATTERN } from '../shared/header-rules.ts';

/** What one invocation of the authorizer came to. Only `verdict` is cached. */
type Outcome =
  | { readonly kind: 'verdict'; readonly verdict: Verdict }
  | { readonly kind: 'unauthorized' }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'unavailable'; readonly reason: string };

const DENIED = Object.freeze(problem('forbidden', 'the authorizer denied this request'));
const FAILED = Object.freeze(problem('authorizer_error', 'the authorizer failed; see the gateway log'));
const HEADER_TOKEN = new RegExp(TOKEN_PATTERN);

export const lambdaAuthorizer = definePlugin({
  name: 'lambda-authorizer',
  description: 'Authenticates requests with a Lambda authorizer function (TOKEN or REQUEST, IAM policy or simple responses), as API Gateway does.',
  // After the methods the gateway checks itself (no function call), before anonymous fallbacks.
  priority: 900,
  kind: 'authentication',
  schema: LambdaAuthorizerConfig,
  create(config, scope): PluginHandlers {
    const invoker = scope.functions?.(config.function);
    if (invoker === undefined) throw new PluginConfigError('function', `no function "${config.function}" in \`functions\``);
    const type = config.type ?? (config.payloadFormat === '1.0' ? 'TOKEN' : 'REQUEST');
    const headers = config.identitySource.headers.map((h) => h.toLowerCase());
    const query = config.identitySource.query;
    const ttl = parseDuration(config.ttl);
    if (type === 'TOKEN') {
      if (config.payloadFormat === '2.0') throw new PluginConfigError('type', 'payload 2.0 authorizers are REQUEST authorizers');
      if (headers.length !== 1 || query.length > 0) throw new PluginConfigError('identitySource', 'a TOKEN authorizer reads exactly one header');
    } else if (config.validationExpression !== undefined) {
      throw new PluginConfigError('validationExpression', 'only TOKEN authorizers validate a token');
    }
    if (type === 'REQUEST' && ttl > 0 && headers.length + query.length === 0) {
      throw new PluginConfigError('identitySource', 'caching (ttl > 0) needs an identity source: the cache key');
    }
    if (config.simpleResponses && config.payloadFormat !== '2.0') throw new PluginConfigError('simpleResponses', 'simple responses are a payload 2.0 feature');
    let validation: RegExp | undefined;
    try {
      validation = config.validationExpression === undefined ? undefined : new RegExp(`^(?:${config.validationExpression})$`);
    } catch (err) {
      throw new PluginConfigError('validationExpression', (err as Error).message);
    }
    const cache = ttl > 0 ? new VerdictCache<Outcome>(ttl, config.maxEntries) : undefined;
    const call = authorizerCall(invoker, config, scope.logger);
    const prefix = config.contextHeaders ? config.contextHeaderPrefix : undefined;

    /** The identity source values in order, or undefined when one is missing. */
    const sources = (ctx: RequestContext): string[] | undefined => {
      const values: string[] = [];
      for (const h of headers) {
        const v = ctx.header(h);
        if (v === undefined || v === '') return undefined;
        values.push(v);
      }
      for (const q of query) {
        const v = queryParam(ctx.query, [q]);
        if (v === undefined || v === '') return undefined;
        values.push(v);
      }
      return values;
    };

    const judge = (ctx: RequestContext, outcome: Outcome, arn: string): AuthResult => {
      switch (outcome.kind) {
        case 'unauthorized': return invalid('the authorizer answered Unauthorized');
        case 'failed': return { outcome: 'unavailable', reason: `authorizer failed: ${outcome.reason}`, reply: FAILED };
        case 'unavailable': return { outcome: 'unavailable', reason: outcome.reason };
      }
      const { verdict } = outcome;
      if (!verdict.allows(arn)) return { outcome: 'invalid', reason: `the authorizer denies ${arn}`, reply: DENIED };
      if (prefix !== undefined && verdict.context !== undefined) setContextHeaders(ctx, prefix, verdict.context);
      const principal = verdict.principalId;
      const consumer = config.consumerFrom === 'principalId' && principal !== undefined
        ? scope.consumers.byId(principal) ?? scope.consumers.byName(principal)
        : undefined;
      const identity: Identity = {
        method: 'lambda-authorizer', consumer, subject: principal, scopes: [], authorizerContext: verdict.context ?? {},
      };
      return { outcome: 'success', identity };
    };

    return {
      authenticator: {
        challenge: `Bearer realm="${scope.auth.realm}"`,
        authenticate(ctx) {
          const values = sources(ctx);
          if (values === undefined) return ABSENT;
          if (validation !== undefined && !validation.test(values[0]!)) return invalid('the token does not match validationExpression');
          const arn = methodArn(config, ctx.method, ctx.path);
          const event = () => (type === 'TOKEN' ? tokenEvent(values[0]!, arn) : requestEvent(ctx, config, arn, values));
          const got = cache === undefined ? call(event()) : cache.get(identityKey(values), () => call(event()).then((o) => ({ value: o, cacheable: o.kind === 'verdict' })));
          return got instanceof Promise ? got.then((o) => judge(ctx, o, arn)) : judge(ctx, got, arn);
        },
      },
      secrets: { headers, query },
    };
  },
});

/** Invokes the authorizer with an event and makes an Outcome of whatever comes back. */
function authorizerCall(invoker: FunctionInvoker, config: LambdaAuthorizerConfigT, logger: Logger) {
  const parse = (answer: unknown): ParsedAnswer => (config.simpleResponses ? parseSimpleAnswer(answer) : parsePolicyAnswer(answer, config.payloadFormat));
  return async (event: Record<string, unknown>): Promise<Outcome> => {
    const requestId = randomUUID();
    try {
      const result = await invoker.invoke({ payload: Buffer.from(JSON.stringify(event)), requestId });
      const answer = parseJson(result.payload);
      if (result.status === 'error') {
        if ((answer as { errorMessage?: unknown } | undefined)?.errorMessage === 'Unauthorized') return { kind: 'unauthorized' };
        logger.warn('lambda authorizer failed', { function: invoker.name, requestId, error: result.payload.toString('utf8', 0, 1024) });
        return { kind: 'failed', reason: 'the function failed' };
      }
      if (answer === 'Unauthorized') return { kind: 'unauthorized' };
      const parsed = parse(answer);
      if (!parsed.ok) {
        logger.warn('lambda authorizer answered something else than an authorizer response', { function: invoker.name, requestId, reason: parsed.reason });
        return { kind: 'failed', reason: parsed.reason };
      }
      return { kind: 'verdict', verdict: parsed.verdict };
    } catch (err) {
      const failure = err instanceof InvokeError ? err.failure : 'unavailable';
      // A timeout is the function's failure, as Lambda reports it; the rest mean it could not be asked.
      if (failure === 'timeout') return { kind: 'failed', reason: (err as Error).message };
      return { kind: 'unavailable', reason: `authorizer ${invoker.name}: ${(err as Error).message}` };
    }
  };
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** `{prefix}{key}: value` for each context entry whose key is a header name; objects travel as JSON. */
function setContextHeaders(ctx: RequestContext, prefix: string, context: Readonly<Record<string, unknown>>): void {
  for (const [key, value] of Object.entries(context)) {
    if (!HEADER_TOKEN.test(key) || value === undefined || value === null) continue;
    ctx.requestHeaders.setHeader(prefix + key, headerSafe(typeof value === 'object' ? JSON.stringify(value) : String(value)));
  }
}
