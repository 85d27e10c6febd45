import type { AnalyticsQuery } from './analytics.ts';
import { MINUTE_MS, RETENTION_MINUTES } from './rollup.ts';

/** A query parameter `GET /analytics` refused, and why. */
export interface ParamIssue {
  readonly param: string;
  readonly message: string;
}

export type ParsedQuery = { readonly ok: true; readonly query: AnalyticsQuery } | { readonly ok: false; readonly errors: ParamIssue[] };

const PARAMS = ['from', 'to', 'route', 'consumer', 'stage', 'scope', 'top'] as const;

/** An ISO 8601 time with a date (`2025-01-31T10:00:00Z`), or milliseconds since the epoch. */
function parseTime(v: string): number | undefined {
  if (/^\d{1,15}$/.test(v)) return Number(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The query of `GET /analytics?from=&to=&route=&consumer=&stage=&scope=&top=`. `from` and `to` are ISO times or
 * epoch milliseconds, widened to whole minutes (`from` down, `to` up); without them, the last hour up to now (the
 * current minute included). The range is cut to the 24 hours kept. Unknown or repeated parameters are refused, so a
 * misspelt filter never silently answers for everything.
 */
export function parseAnalyticsQuery(params: URLSearchParams, now: number, defaults: { topN: number; sharing: boolean }): ParsedQuery {
  const errors: ParamIssue[] = [];
  const one = (name: string): string | undefined => {
    const all = params.getAll(name);
    if (all.length > 1) errors.push({ param: name, message: 'is given more than once' });
    return all[0];
  };
  for (const name of new Set(params.keys())) {
    if (!(PARAMS as readonly string[]).includes(name)) errors.push({ param: name, message: `is not a parameter of /analytics (they are ${PARAMS.join(', ')})` });
  }
  const time = (name: 'from' | 'to'): number | undefined => {
    const v = one(name);
    if (v === undefined) return undefined;
    const t = parseTime(v);
    if (t === undefined) errors.push({ param: name, message: 'must be an ISO 8601 time such as 2025-01-31T10:00:00Z, or milliseconds since 1970' });
    return t;
  };
  const nowMinute = Math.floor(now / MINUTE_MS);
  const to = time('to');
  const from = time('from');
  let toMinute = Math.min(to === undefined ? nowMinute + 1 : Math.ceil(to / MINUTE_MS), nowMinute + 1);
  let fromMinute = from === undefined ? toMinute - 60 : Math.floor(from / MINUTE_MS);
  if (from !== undefined && to !== undefined && from >= to) errors.push({ param: 'from', message: 'must be before `to`' });
  fromMinute = Math.max(fromMinute, nowMinute - RETENTION_MINUTES + 1);
  if (toMinute < fromMinute) toMinute = fromMinute;

  const scope = one('scope') ?? 'node';
  if (scope !== 'node' && scope !== 'cluster') errors.push({ param: 'scope', message: 'must be "node" or "cluster"' });
  else if (scope === 'cluster' && !defaults.sharing) {
    errors.push({ param: 'scope', message: 'is "cluster" but this node does not share its rollups: set analytics.share.enabled and a root `redis`' });
  }
  const topText = one('top');
  const top = topText === undefined ? defaults.topN : Number(topText);
  if (!Number.isInteger(top) || top < 1 || top > 1000 || !/^\d+$/.test(topText ?? '1')) errors.push({ param: 'top', message: 'must be a whole number from 1 to 1000' });
  const filter = (name: 'route' | 'consumer' | 'stage') => {
    const v = one(name);
    if (v === '') errors.push({ param: name, message: 'is empty: leave it out to take every value' });
    return v;
  };
  const route = filter('route');
  const consumer = filter('consumer');
  const stage = filter('stage');
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, query: { fromMinute, toMinute, route, consumer, stage, top, scope: scope as 'node' | 'cluster' } };
}
