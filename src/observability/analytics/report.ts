import { SketchMerger, type LatencySummary } from './latency-sketch.ts';
import { MINUTE_MS, OTHER, type Cell, type MinuteRollup } from './rollup.ts';

/** What to report: the minutes in [fromMinute, toMinute), the cells matching every filter given. */
export interface ReportQuery {
  readonly fromMinute: number;
  readonly toMinute: number;
  readonly route?: string | undefined;
  readonly consumer?: string | undefined;
  readonly stage?: string | undefined;
  /** How many routes, consumers and statuses the `top` lists keep. */
  readonly top: number;
}

export interface ErrorClasses {
  readonly '4xx': number;
  readonly '5xx': number;
}

export interface TopEntry {
  readonly name: string;
  readonly requests: number;
  readonly errors: ErrorClasses;
}

export interface MinutePoint {
  readonly minute: string;
  readonly requests: number;
  readonly errors: ErrorClasses;
  readonly latencyMs: LatencySummary;
}

export interface Report {
  readonly from: string;
  readonly to: string;
  readonly filters: { readonly route?: string; readonly consumer?: string; readonly stage?: string };
  readonly totals: {
    readonly requests: number;
    readonly errors: ErrorClasses;
    /** Requests whose client went away before any response started (status 0). */
    readonly clientClosed: number;
    /** Requests counted in the overflow cell (a minute past analytics.maxCellsPerMinute): in the totals, in no route. */
    readonly overflow: number;
  };
  readonly latencyMs: LatencySummary;
  readonly top: {
    readonly routes: TopEntry[];
    readonly consumers: TopEntry[];
    readonly statuses: Array<{ readonly status: number; readonly requests: number }>;
  };
  /** Every minute of the range, oldest first, empty ones included. */
  readonly series: MinutePoint[];
}

class Tally {
  requests = 0;
  e4 = 0;
  e5 = 0;
  closed = 0;

  addCell(c: Cell): void {
    this.requests += c.requests;
    const st = c.statuses;
    for (let i = 0; i < st.length; i += 2) {
      const status = st[i]!;
      const n = st[i + 1]!;
      if (status >= 500) this.e5 += n;
      else if (status >= 400) this.e4 += n;
      else if (status === 0) this.closed += n;
    }
  }

  addTally(t: Tally): void {
    this.requests += t.requests;
    this.e4 += t.e4;
    this.e5 += t.e5;
    this.closed += t.closed;
  }

  get errors(): ErrorClasses {
    return { '4xx': this.e4, '5xx': this.e5 };
  }
}

function matches(c: Cell, q: ReportQuery): boolean {
  return (q.route === undefined || c.route === q.route)
    && (q.consumer === undefined || c.consumer === q.consumer)
    && (q.stage === undefined || c.stage === q.stage);
}

function tally(map: Map<string, Tally>, name: string, c: Cell): void {
  let t = map.get(name);
  if (t === undefined) map.set(name, (t = new Tally()));
  t.addCell(c);
}

/** Most requests first, then by name, so equal counts come out in the same order every time. */
function top(map: Map<string, Tally>, n: number): TopEntry[] {
  return [...map].sort((a, b) => b[1].requests - a[1].requests || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n).map(([name, t]) => ({ name, requests: t.requests, errors: t.errors }));
}

/**
 * Merges rollups into one report. `minutes` may hold several rollups of the same minute (one per node): counts add
 * up and sketches merge, so the report of two nodes' rollups is the report of their combined traffic.
 */
export function buildReport(minutes: Iterable<MinuteRollup>, q: ReportQuery): Report {
  const perMinute = new Map<number, { tally: Tally; latency: SketchMerger }>();
  const routes = new Map<string, Tally>();
  const consumers = new Map<string, Tally>();
  const statuses = new Map<number, number>();
  let overflow = 0;
  for (const m of minutes) {
    if (m.minute < q.fromMinute || m.minute >= q.toMinute) continue;
    let slot = perMinute.get(m.minute);
    for (const c of m.cells) {
      if (!matches(c, q)) continue;
      if (slot === undefined) perMinute.set(m.minute, (slot = { tally: new Tally(), latency: new SketchMerger() }));
      slot.tally.addCell(c);
      slot.latency.add(c.latency.data());
      tally(routes, c.route, c);
      tally(consumers, c.consumer, c);
      for (let i = 0; i < c.statuses.length; i += 2) statuses.set(c.statuses[i]!, (statuses.get(c.statuses[i]!) ?? 0) + c.statuses[i + 1]!);
      if (c.route === OTHER) overflow += c.requests;
    }
  }
  const totals = new Tally();
  const latency = new SketchMerger();
  const series: MinutePoint[] = [];
  for (let minute = q.fromMinute; minute < q.toMinute; minute++) {
    const slot = perMinute.get(minute);
    const t = slot?.tally ?? new Tally();
    const l = slot?.latency ?? new SketchMerger();
    totals.addTally(t);
    if (slot !== undefined) latency.add(l.data());
    series.push({ minute: new Date(minute * MINUTE_MS).toISOString(), requests: t.requests, errors: t.errors, latencyMs: l.summary() });
  }
  const filters = Object.fromEntries((['route', 'consumer', 'stage'] as const).flatMap((k) => (q[k] === undefined ? [] : [[k, q[k]]])));
  return {
    from: new Date(q.fromMinute * MINUTE_MS).toISOString(),
    to: new Date(q.toMinute * MINUTE_MS).toISOString(),
    filters,
    totals: { requests: totals.requests, errors: totals.errors, clientClosed: totals.closed, overflow },
    latencyMs: latency.summary(),
    top: {
      routes: top(routes, q.top),
      consumers: top(consumers, q.top),
      statuses: [...statuses].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, q.top).map(([status, requests]) => ({ status, requests })),
    },
    series,
  };
}
