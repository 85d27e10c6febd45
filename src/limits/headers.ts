import type { RequestContext } from '../core/context.ts';

/**
 * The client-facing rate-limit headers, per the IETF httpapi draft "RateLimit header fields for HTTP"
 * (draft-ietf-httpapi-ratelimit-headers-09), both Structured Field Lists (RFC 9651):
 *
 *   RateLimit-Policy: "burst";q=20;w=2, "hourly";q=1000;w=3600     every limit checked: quota q per window w (s)
 *   RateLimit: "hourly";r=997;t=2540                              the most restrictive: r left, t s until whole
 *
 * and, when asked for, the legacy `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds) of
 * the most restrictive limit. Several policies can apply to one request (a route's rate limit, a usage plan, a
 * quota): each records its items as it runs, and the headers are rewritten from all of them, so the client sees
 * one consistent set whichever policy ran last or refused.
 */
export interface LimitHeaderItem {
  /** The limit's id: the policy item's name. */
  readonly name: string;
  /** Requests per window (the burst, for a token bucket). */
  readonly q: number;
  /** Window in seconds. */
  readonly w: number;
  /** Requests left. */
  readonly r: number;
  /** Seconds until the limit is whole again (rounded up). */
  readonly t: number;
  /** Seconds until a request would pass, for a refused limit (0 when it allowed). */
  readonly retry: number;
  readonly draft: boolean;
  readonly legacy: boolean;
}

const VAR = 'ratelimit-headers';

/** Adds a policy's items and rewrites the response headers from every item recorded for this request. */
export function recordLimitHeaders(ctx: RequestContext, items: readonly LimitHeaderItem[]): void {
  if (items.length === 0) return;
  let all = ctx.vars[VAR] as LimitHeaderItem[] | undefined;
  if (all === undefined) ctx.vars[VAR] = all = [];
  all.push(...items);
  const draft = all.filter((i) => i.draft);
  if (draft.length > 0) {
    ctx.responseHeaders.setHeader('ratelimit-policy', draft.map((i) => `${sfString(i.name)};q=${i.q};w=${i.w}`).join(', '));
    const m = mostRestrictive(draft);
    ctx.responseHeaders.setHeader('ratelimit', `${sfString(m.name)};r=${m.r};t=${m.t}`);
  }
  const legacy = all.filter((i) => i.legacy);
  if (legacy.length > 0) {
    const m = mostRestrictive(legacy);
    ctx.responseHeaders.setHeader('x-ratelimit-limit', String(m.q));
    ctx.responseHeaders.setHeader('x-ratelimit-remaining', String(m.r));
    ctx.responseHeaders.setHeader('x-ratelimit-reset', String(m.t));
  }
}

/** The items recorded for a request so far (tests, the access log). */
export function limitHeaderItems(ctx: RequestContext): readonly LimitHeaderItem[] {
  return (ctx.vars[VAR] as LimitHeaderItem[] | undefined) ?? [];
}

/**
 * The limit a client should pace itself by: one that refused (the longest wait), else the one with the fewest
 * requests left (then the longest time to be whole again).
 */
export function mostRestrictive(items: readonly LimitHeaderItem[]): LimitHeaderItem {
  let best = items[0]!;
  for (let i = 1; i < items.length; i++) {
    const x = items[i]!;
    if (x.retry !== best.retry ? x.retry > best.retry : x.r !== best.r ? x.r < best.r : x.t > best.t) best = x;
  }
  return best;
}

/** A Structured Field String (RFC 9651 §3.3.3): quoted, with `"` and `\` escaped. */
export function sfString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Whole seconds, rounded up, for a header (Retry-After, `t`): a client that waits that long is never early. */
export function ceilSeconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}
