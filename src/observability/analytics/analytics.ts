import { Value } from '@sinclair/typebox/value';
import { AnalyticsConfig, AnalyticsShareConfig, type AnalyticsConfigT } from '../../config/schema/analytics.ts';
import type { RedisConfigT } from '../../config/schema/redis.ts';
import { parseDuration } from '../../config/units.ts';
import type { RequestContext } from '../../core/context.ts';
import type { Logger } from '../../core/logger.ts';
import { RollupShare, defaultNodeId, type ClusterView } from './redis-share.ts';
import { buildReport, type Report, type ReportQuery } from './report.ts';
import { NONE, RollupRing, type MinuteRollup } from './rollup.ts';

export interface AnalyticsSettings {
  readonly enabled: boolean;
  readonly maxCellsPerMinute: number;
  readonly topN: number;
  readonly share: { readonly enabled: boolean; readonly intervalMs: number; readonly nodeId: string | undefined };
}

/** The config's `analytics` section with its defaults. */
export function analyticsSettings(config: AnalyticsConfigT | undefined): AnalyticsSettings {
  const s = Value.Default(AnalyticsConfig, structuredClone(config ?? {})) as AnalyticsConfigT;
  const share = Value.Default(AnalyticsShareConfig, structuredClone(s.share ?? {})) as NonNullable<AnalyticsConfigT['share']>;
  return {
    enabled: s.enabled,
    maxCellsPerMinute: s.maxCellsPerMinute,
    topN: s.topN,
    share: { enabled: share.enabled, intervalMs: parseDuration(share.interval), nodeId: share.nodeId },
  };
}

export interface AnalyticsQuery extends ReportQuery {
  /** `node`: this node's rollups; `cluster`: merged with every node's copy in Redis (needs analytics.share). */
  readonly scope: 'node' | 'cluster';
}

/** What `GET /analytics` answers: the report, and which nodes it covers. */
export type AnalyticsAnswer = { readonly scope: 'node' | 'cluster'; readonly node: string } & Partial<ClusterView> & { readonly nodes: string[] } & Report;

/**
 * The stage a request ran on. Stages are not in the gateway yet: until they are, a plugin may name one in
 * `ctx.vars.stage`; the dimension is in the data and the filters already.
 */
function stageOf(ctx: RequestContext): string {
  const s = ctx.vars.stage;
  return typeof s === 'string' ? s : NONE;
}

/**
 * A gateway's built-in analytics: the rollups the request handler feeds as exchanges end, the queries the admin
 * API runs, and the sharing through Redis. Lives as long as the gateway; `configure` applies a reloaded config.
 */
export class GatewayAnalytics {
  /** false: the handler records nothing, and `GET /analytics` answers 404. */
  enabled = false;
  topN = 10;
  readonly ring: RollupRing;
  readonly #logger: Logger;
  readonly #defaultNodeId = defaultNodeId();
  readonly #clock: (() => number) | undefined;
  /** Date.now() − performance.now(), taken at most once a second (see #wallClock). */
  #offset = 0;
  #anchoredAt = -Infinity;
  #share: RollupShare | undefined;
  #shareIdentity = '';

  /** `clock`: the wall clock in ms, for tests; the default reads Date.now(). */
  constructor(config: AnalyticsConfigT | undefined, redis: RedisConfigT | undefined, logger: Logger, clock?: () => number) {
    this.#logger = logger;
    this.#clock = clock;
    this.ring = new RollupRing(200, clock);
    this.configure(config, redis);
  }

  get nodeId(): string {
    return this.#share?.nodeId ?? this.#defaultNodeId;
  }

  get sharing(): RollupShare | undefined {
    return this.#share;
  }

  configure(config: AnalyticsConfigT | undefined, redis: RedisConfigT | undefined): void {
    const s = analyticsSettings(config);
    this.ring.maxCells = s.maxCellsPerMinute;
    this.topN = s.topN;
    if (!s.enabled) this.ring.clear();
    this.enabled = s.enabled;
    const share = s.enabled && s.share.enabled && redis !== undefined ? { redis, ...s.share } : undefined;
    const identity = JSON.stringify(share ?? null);
    if (identity === this.#shareIdentity) return;
    this.#shareIdentity = identity;
    const old = this.#share;
    this.#share = share === undefined ? undefined : new RollupShare(share.redis, share.intervalMs, share.nodeId ?? this.#defaultNodeId, this.ring, this.#logger);
    if (old !== undefined) void old.close();
  }

  /** One finished exchange (the handler calls it only while enabled). */
  record(ctx: RequestContext): void {
    const now = performance.now();
    // An upgraded connection lasts as long as the WebSocket: counted, but not a request latency.
    const latency = ctx.status === 101 ? -1 : now - ctx.startTime;
    const route = ctx.route === undefined ? NONE : ctx.route.name;
    this.ring.record(route, ctx.consumer === undefined ? NONE : ctx.consumer.name, stageOf(ctx), ctx.status, latency, this.#wallClock(now));
  }

  /**
   * The wall-clock time of `perfNow`. A clock read costs 150–200 ns on some machines, as much as the rest of the
   * recording: the one performance.now() serves for both, and Date.now() anchors it once a second (so the minutes
   * follow the wall clock, which NTP may move, within a second).
   */
  #wallClock(perfNow: number): number {
    if (this.#clock !== undefined) return this.#clock();
    if (perfNow - this.#anchoredAt > 1000) {
      this.#offset = Date.now() - perfNow;
      this.#anchoredAt = perfNow;
    }
    return this.#offset + perfNow;
  }

  /** The report for `q`. A cluster query whose Redis read fails answers for this node alone, and says why. */
  async query(q: AnalyticsQuery): Promise<AnalyticsAnswer> {
    const own = this.ring.minutes(q.fromMinute, q.toMinute);
    const node = this.nodeId;
    if (q.scope === 'node' || this.#share === undefined) return { scope: q.scope, node, nodes: [node], ...buildReport(own, q) };
    try {
      const { byNode, unreadable } = await this.#share.read(q.fromMinute, q.toMinute);
      const all: MinuteRollup[] = [...own];
      for (const list of byNode.values()) all.push(...list);
      const nodes = [node, ...[...byNode.keys()].sort()];
      const error = unreadable.length === 0 ? {} : { error: `rollups left out: ${unreadable.slice(0, 5).join('; ')}` };
      return { scope: 'cluster', node, nodes, redis: 'up', ...error, ...buildReport(all, q) };
    } catch (err) {
      return { scope: 'cluster', node, nodes: [node], redis: 'down', error: (err as Error).message, ...buildReport(own, q) };
    }
  }

  /** Stops sharing (after a last write). */
  async close(): Promise<void> {
    const share = this.#share;
    this.#share = undefined;
    this.#shareIdentity = '';
    await share?.close();
  }
}
