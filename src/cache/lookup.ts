import type { RequestContext } from '../core/context.ts';
import type { PhaseResult } from '../core/plugin.ts';
import { problem } from '../core/reply.ts';
import type { CachedResponse, Stored } from './entry.ts';
import type { CachePolicy } from './policy.ts';
import { Coalescer } from './coalescer.ts';
import { CLIENT_CONDITIONALS, CacheFill } from './fill.ts';
import { refresh } from './refresh.ts';
import { storedReply } from './serve.ts';
import { clientConditional, validatorsFor } from './conditional.ts';
import { onlyIfCached } from './directives.ts';
import { keyQuery, primaryKey } from './key.ts';
import { isResponse, variantKey } from './store.ts';
import { varySignature } from './vary.ts';

/** One coalescer for the process: keys carry the route, so leads never mix routes. */
const coalescer = new Coalescer();


type Result = PhaseResult | Promise<PhaseResult>;

/**
 * The cacheLookup phase of a route with the cache: answers from the store when a stored response may be used
 * (fresh, or stale where allowed), otherwise lets the request go upstream with a CacheFill watching the answer
 * (revalidating with the stored validators when there is one). Synchronous for memory-store hits.
 */
export function cacheLookup(policy: CachePolicy, ctx: RequestContext): Result {
  if (bypassed(policy, ctx)) {
    policy.count('bypass', ctx);
    addStatus(policy, ctx, policy.status({ fwd: 'bypass' }));
    return undefined;
  }
  const spec = policy.spec;
  const query = keyQuery(ctx.upstreamQuery, spec.query);
  // A parameter the key leaves out must not reach the upstream, or it could change the stored answer.
  if (spec.query !== 'all') ctx.upstreamQuery = query;
  for (const h of policy.unkeyedOverrides) if (ctx.req.headers[h] !== undefined) ctx.requestHeaders.removeHeader(h);
  const primary = primaryKey(ctx, spec, query);
  return find(policy, ctx, primary, false);
}

function find(policy: CachePolicy, ctx: RequestContext, primary: string, waited: boolean): Result {
  const now = Date.now();
  const found = policy.storage.get(primary, now);
  if (found instanceof Promise) return found.then((f) => variant(policy, ctx, primary, f, now, waited));
  return variant(policy, ctx, primary, found, now, waited);
}

function variant(policy: CachePolicy, ctx: RequestContext, primary: string, found: Stored | undefined, now: number, waited: boolean): Result {
  if (found === undefined || found.kind === 'response') return decide(policy, ctx, primary, found?.entry, 'uri-miss', now, waited);
  const key = variantKey(primary, varySignature(found.names, ctx.req.headers));
  const v = policy.storage.get(key, now);
  if (v instanceof Promise) return v.then((x) => decide(policy, ctx, primary, isResponse(x) ? x.entry : undefined, 'vary-miss', now, waited));
  return decide(policy, ctx, primary, isResponse(v) ? v.entry : undefined, 'vary-miss', now, waited);
}

function decide(
  policy: CachePolicy, ctx: RequestContext, primary: string, found: CachedResponse | undefined,
  missReason: 'uri-miss' | 'vary-miss', now: number, waited: boolean,
): Result {
  const reqHeaders = ctx.req.headers;
  // RFC 9111 §3.5: a response stored for one requester is served to a request with credentials only when it
  // said so (public, s-maxage, must-revalidate) or the key separates consumers.
  const entry = found !== undefined && !found.authShared && !policy.spec.consumer && policy.authenticated(ctx) ? undefined : found;
  const reason = entry === undefined && found !== undefined ? 'miss' : missReason;
  if (entry !== undefined && clientConditional(ctx.method, reqHeaders, entry.headers) !== 'forward') {
    const u = policy.usability(ctx, entry, now);
    const ttlSeconds = Math.trunc((u.freshnessMs - u.ageMs) / 1000);
    const use = u.usability;
    if (use.use === 'fresh') {
      policy.count(waited ? 'collapsed' : 'hit', ctx);
      return storedReply(ctx, entry, u.ageMs, policy.status(waited ? { fwd: reason, collapsed: true } : { hit: true, ttlSeconds }));
    }
    if (use.use === 'stale') {
      if (use.why === 'stale-while-revalidate') refresh(policy, ctx, primary, entry);
      policy.count('stale', ctx);
      return storedReply(ctx, entry, u.ageMs, policy.status({ hit: true, ttlSeconds, detail: use.why }));
    }
    if (onlyIfCached(reqHeaders)) return notCached(policy, ctx);
    policy.count('miss', ctx);
    for (const h of CLIENT_CONDITIONALS) ctx.requestHeaders.removeHeader(h);
    for (const [k, v] of Object.entries(validatorsFor(entry.headers))) ctx.requestHeaders.setHeader(k, v);
    const fwd = u.freshnessMs > u.ageMs ? 'request' : 'stale';
    ctx.responseTap = new CacheFill(policy, ctx, primary, fwd, entry, use.use === 'stale-if-error');
    return undefined;
  }
  if (onlyIfCached(reqHeaders)) return notCached(policy, ctx);
  policy.count('miss', ctx);
  if (ctx.method === 'HEAD') {
    // A HEAD response has no content to store; the next GET fills the entry.
    addStatus(policy, ctx, policy.status({ fwd: 'method' }));
    return undefined;
  }
  const plain = !CLIENT_CONDITIONALS.some((h) => reqHeaders[h] !== undefined);
  if (policy.coalesce && plain && !waited) {
    const pending = coalescer.pending(primary);
    if (pending !== undefined) return pending.wait(policy.coalesceTimeoutMs).then(() => find(policy, ctx, primary, true));
  }
  const fill = new CacheFill(policy, ctx, primary, entry === undefined && found !== undefined ? 'miss' : reason);
  if (policy.coalesce && plain && coalescer.pending(primary) === undefined) fill.lead = coalescer.lead(primary);
  ctx.responseTap = fill;
  return undefined;
}

function notCached(policy: CachePolicy, ctx: RequestContext): PhaseResult {
  policy.count('miss', ctx);
  const status = policy.status({ fwd: 'miss', detail: 'only-if-cached' });
  return problem('not_cached', 'only-if-cached and no usable stored response', status === undefined ? undefined : { 'cache-status': status });
}

function addStatus(policy: CachePolicy, ctx: RequestContext, status: string | undefined): void {
  if (status !== undefined) ctx.responseHeaders.addHeader('cache-status', status);
  for (const h of policy.tagHeaders) ctx.responseHeaders.removeHeader(h);
}

/** The route's bypass conditions: a listed header, cookie or query parameter present. */
function bypassed(policy: CachePolicy, ctx: RequestContext): boolean {
  const h = ctx.req.headers;
  for (const name of policy.bypassHeaders) if (h[name] !== undefined) return true;
  if (policy.bypassCookies.length > 0 && typeof h.cookie === 'string') {
    for (const part of h.cookie.split(';')) {
      const eq = part.indexOf('=');
      if (policy.bypassCookies.includes((eq === -1 ? part : part.slice(0, eq)).trim())) return true;
    }
  }
  if (policy.bypassQuery.length > 0 && ctx.query !== '') {
    for (const pair of ctx.query.split('&')) {
      const eq = pair.indexOf('=');
      if (policy.bypassQuery.includes(eq === -1 ? pair : pair.slice(0, eq))) return true;
    }
  }
  return false;
}
