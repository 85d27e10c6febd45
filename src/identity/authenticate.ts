import type { RequestContext } from '../core/context.ts';
import type { Logger } from '../core/logger.ts';
import type { PhaseHandler, PhaseResult } from '../core/plugin.ts';
import { problem, type Reply } from '../core/reply.ts';
import type { AuthSettingsT, RouteAuthConfigT } from '../config/schema/consumer.ts';
import type { AuthResult, Authenticator, Consumer, Identity } from './types.ts';
import { headerSafe } from './header-safe.ts';
export { headerSafe };

export interface NamedAuthenticator {
  readonly name: string;
  readonly authenticator: Authenticator;
}

export interface AuthenticationOptions {
  readonly mode: RouteAuthConfigT['mode'];
  /** The consumer a request without any credentials is let in as. */
  readonly anonymous: Consumer | undefined;
  readonly headers: AuthSettingsT['upstreamHeaders'];
  readonly logger: Logger;
  readonly route: string;
}

function isPromise(v: unknown): v is Promise<AuthResult> {
  return typeof v === 'object' && v !== null && typeof (v as Promise<unknown>).then === 'function';
}

/**
 * The route's authenticate phase: runs its methods in order and combines their results.
 *
 * `any`: the first `success` wins. If none succeeds, any `invalid` answers 401 `invalid_credentials`; else any
 * `unavailable` answers 503 `auth_unavailable`; else (no credentials at all) the anonymous consumer is let in, or
 * 401 `unauthorized`. `all`: every method must succeed, and methods that map a consumer must map the same one;
 * a request with no credentials at all still gets the anonymous consumer when there is one.
 *
 * Every 401 carries one `WWW-Authenticate` challenge per method; no answer says which check failed (the reason
 * goes to the log at debug level through `ctx.vars.auth`).
 */
export function composeAuthentication(methods: readonly NamedAuthenticator[], options: AuthenticationOptions): PhaseHandler {
  const challenges = methods.map((m) => m.authenticator.challenge);
  const unauthorized = Object.freeze(problem('unauthorized', 'authentication required', { 'www-authenticate': challenges }));
  const unavailable = Object.freeze(problem('auth_unavailable', 'credentials cannot be checked right now', { 'retry-after': '5' }));
  const anonymousIdentity: Identity | undefined = options.anonymous === undefined ? undefined : Object.freeze({
    method: 'anonymous', consumer: options.anonymous, subject: undefined, scopes: [], anonymous: true,
  });

  const refuse = (ctx: RequestContext, results: readonly AuthResult[]): Reply => {
    const reasons: string[] = [];
    let sawInvalid = false;
    let sawUnavailable = false;
    let invalidReply: Reply | undefined;
    let unavailableReply: Reply | undefined;
    const own: string[] = [];
    results.forEach((r, i) => {
      if (r.outcome === 'invalid') {
        sawInvalid = true;
        invalidReply ??= r.reply;
        reasons.push(`${methods[i]!.name}: ${r.reason}`);
        own.push(r.challenge ?? challenges[i]!);
      } else {
        if (r.outcome === 'unavailable') {
          sawUnavailable = true;
          unavailableReply ??= r.reply;
          reasons.push(`${methods[i]!.name}: ${r.reason}`);
        }
        own.push(challenges[i]!);
      }
    });
    ctx.vars.auth = { outcome: sawInvalid ? 'invalid' : sawUnavailable ? 'unavailable' : 'absent', reasons };
    if (sawInvalid) return invalidReply ?? problem('invalid_credentials', 'credentials not accepted', { 'www-authenticate': own });
    if (sawUnavailable) return unavailableReply ?? unavailable;
    return unauthorized;
  };

  const finishAny = (ctx: RequestContext, results: AuthResult[]): PhaseResult => {
    for (const r of results) if (r.outcome !== 'absent') return refuse(ctx, results);
    if (anonymousIdentity !== undefined) return grant(ctx, anonymousIdentity, options.headers);
    return refuse(ctx, results);
  };

  const finishAll = (ctx: RequestContext, results: AuthResult[]): PhaseResult => {
    if (anonymousIdentity !== undefined && results.every((r) => r.outcome === 'absent')) return grant(ctx, anonymousIdentity, options.headers);
    const identities: Identity[] = [];
    for (const r of results) {
      if (r.outcome !== 'success') return refuse(ctx, results);
      identities.push(r.identity);
    }
    const consumers = new Set(identities.map((i) => i.consumer).filter((c) => c !== undefined));
    if (consumers.size > 1) {
      ctx.vars.auth = { outcome: 'invalid', reasons: ['methods authenticated different consumers'] };
      return problem('invalid_credentials', 'credentials not accepted', { 'www-authenticate': challenges });
    }
    const first = identities.find((i) => i.consumer !== undefined) ?? identities[0]!;
    const scopes = [...new Set(identities.flatMap((i) => i.scopes))];
    return grant(ctx, { ...first, method: identities.map((i) => i.method).join('+'), scopes }, options.headers);
  };

  const any = options.mode === 'any';
  const finish = any ? finishAny : finishAll;

  const continueAsync = async (ctx: RequestContext, results: AuthResult[], from: number, pending: Promise<AuthResult>): Promise<PhaseResult> => {
    let r = await pending;
    for (let i = from; ; ) {
      if (any && r.outcome === 'success') return grant(ctx, r.identity, options.headers);
      results.push(r);
      if (++i >= methods.length) return finish(ctx, results);
      r = await methods[i]!.authenticator.authenticate(ctx);
    }
  };

  return function authenticate(ctx: RequestContext): PhaseResult | Promise<PhaseResult> {
    const results: AuthResult[] = [];
    for (let i = 0; i < methods.length; i++) {
      const r = methods[i]!.authenticator.authenticate(ctx);
      if (isPromise(r)) return continueAsync(ctx, results, i, r);
      if (any && r.outcome === 'success') return grant(ctx, r.identity, options.headers);
      results.push(r);
    }
    return finish(ctx, results);
  };
}

/** Records the identity on the context and tells the upstream who the request is. */
function grant(ctx: RequestContext, identity: Identity, names: AuthSettingsT['upstreamHeaders']): undefined {
  ctx.identity = identity;
  ctx.consumer = identity.consumer;
  const h = ctx.requestHeaders;
  const c = identity.consumer;
  if (c !== undefined) {
    h.setHeader(names.consumerId, c.idHeader);
    h.setHeader(names.consumerUsername, c.name);
    if (c.groups.length > 0) h.setHeader(names.consumerGroups, c.groupsHeader);
  }
  if (identity.subject !== undefined) h.setHeader(names.subject, headerSafe(identity.subject));
  if (identity.scopes.length > 0) h.setHeader(names.scopes, headerSafe(identity.scopes.join(' ')));
  if (identity.anonymous === true) h.setHeader(names.anonymous, 'true');
  return undefined;
}


/** The identity header names that the built-in prefixes (X-Consumer-, X-Authenticated-) do not already cover. */
export function extraOwnedHeaders(names: AuthSettingsT['upstreamHeaders']): ReadonlySet<string> | undefined {
  const extra = Object.values(names).map((n) => n.toLowerCase()).filter((n) => !/^x-(consumer|authenticated|expeditor)-/.test(n));
  return extra.length === 0 ? undefined : new Set(extra);
}
