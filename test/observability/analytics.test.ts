import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LatencySketch, SketchMerger } from '../../src/observability/analytics/latency-sketch.ts';
import { decodeMinute, encodeMinute } from '../../src/observability/analytics/rollup-codec.ts';
import { MINUTE_MS, OTHER, RETENTION_MINUTES, RollupRing, type MinuteRollup } from '../../src/observability/analytics/rollup.ts';
import { buildReport, type ReportQuery } from '../../src/observability/analytics/report.ts';
import { parseAnalyticsQuery } from '../../src/observability/analytics/query-params.ts';
import { seeded as random } from '../helpers/random.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { ConfigError } from '../../src/config/errors.ts';

/** Latencies in ms: log-normal around 40 ms with a tail to seconds, and a few sub-millisecond ones. */
function latencies(n: number, seed: number): number[] {
  const r = random(seed);
  return Array.from({ length: n }, (_, i) => {
    if (i % 50 === 0) return 0.05 + r() * 0.5;
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return 40 * Math.exp(0.8 * z);
  });
}

/** The exact value at quantile q: rank q × (n − 1) rounded down, as the sketch defines it. */
function exact(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

function assertWithin1Percent(actual: number | null, expected: number, what: string): void {
  assert.ok(actual !== null, `${what}: no value`);
  assert.ok(Math.abs(actual - expected) <= 0.01 * expected, `${what}: ${actual} is not within 1% of ${expected}`);
}

const T0 = Date.UTC(2025, 0, 31, 10, 0, 0);

/** A ring on a clock the test moves. */
function clockedRing(maxCells = 1000): { ring: RollupRing; at(ms: number): void } {
  let now = T0;
  return { ring: new RollupRing(maxCells, () => now), at: (ms) => (now = ms) };
}

function everything(ring: RollupRing): MinuteRollup[] {
  const now = Math.floor(ring.now() / MINUTE_MS);
  return ring.minutes(now - RETENTION_MINUTES + 1, now + 1);
}

function query(over: Partial<ReportQuery> = {}): ReportQuery {
  const m = Math.floor(T0 / MINUTE_MS);
  return { fromMinute: m - 5, toMinute: m + 5, top: 10, ...over };
}

describe('analytics: latency percentiles', () => {
  it('p50, p90, p95, p99 and max of a known distribution are within 1% of the exact values', () => {
    const values = latencies(20_000, 7);
    const { ring } = clockedRing();
    values.forEach((v, i) => ring.record(i % 3 === 0 ? 'orders' : 'items', 'alice', '(none)', 200, v));
    const report = buildReport(everything(ring), query());
    const sorted = [...values].sort((a, b) => a - b);
    for (const [name, q] of [['p50', 0.5], ['p90', 0.9], ['p95', 0.95], ['p99', 0.99]] as const) {
      assertWithin1Percent(report.latencyMs[name], exact(sorted, q), name);
    }
    assertWithin1Percent(report.latencyMs.max, sorted.at(-1)!, 'max');
    assert.equal(report.latencyMs.count, 20_000);
  });

  it('stays within 1% at every percentile from 1 to 99, across a closed (frozen) minute', () => {
    const values = latencies(5_000, 11);
    const sketch = new LatencySketch();
    for (const v of values) sketch.add(v);
    sketch.freeze();
    const merged = new SketchMerger();
    merged.add(sketch.data());
    const sorted = [...values].sort((a, b) => a - b);
    for (let p = 1; p <= 99; p++) assertWithin1Percent(merged.quantile(p / 100), exact(sorted, p / 100), `p${p}`);
  });
});

describe('analytics: merging nodes', () => {
  it('the merge of two nodes\' rollups equals the rollup of their combined traffic', () => {
    const r = random(3);
    const a = clockedRing();
    const b = clockedRing();
    const both = clockedRing();
    const routes = ['orders', 'items', 'search'];
    const consumers = ['alice', 'bob', '(none)'];
    const statuses = [200, 200, 200, 201, 404, 429, 500, 503, 0];
    for (let i = 0; i < 6000; i++) {
      const at = T0 - 3 * MINUTE_MS + Math.floor(r() * 6 * MINUTE_MS);
      const row = [routes[i % 3]!, consumers[Math.floor(r() * 3)]!, i % 7 === 0 ? 'beta' : '(none)', statuses[Math.floor(r() * statuses.length)]!, 1 + r() * 300] as const;
      // Each node sees its own share, in time order within the node (a ring only moves forward).
      const node = i % 2 === 0 ? a : b;
      node.at(at);
      node.ring.record(...row);
      both.at(at);
      both.ring.record(...row);
    }
    // The nodes' data as Redis carries it.
    const shared = [...everything(a.ring), ...everything(b.ring)].map((m) => decodeMinute(encodeMinute(m)));
    for (const q of [query(), query({ route: 'orders' }), query({ consumer: 'alice', stage: 'beta' })]) {
      const merged = buildReport(shared, q);
      const combined = buildReport(everything(both.ring), q);
      assert.deepEqual(merged.totals, combined.totals);
      assert.deepEqual(merged.top, combined.top);
      assert.deepEqual(merged.series.map((p) => [p.minute, p.requests, p.errors]), combined.series.map((p) => [p.minute, p.requests, p.errors]));
      const { mean: m1, ...quantiles1 } = merged.latencyMs;
      const { mean: m2, ...quantiles2 } = combined.latencyMs;
      assert.deepEqual(quantiles1, quantiles2);
      assert.ok(Math.abs(m1! - m2!) < 1e-6);
      for (let i = 0; i < merged.series.length; i++) assert.equal(merged.series[i]!.latencyMs.p99, combined.series[i]!.latencyMs.p99);
    }
  });

  it('a rollup survives its JSON form: counts, statuses and every bin', () => {
    const { ring } = clockedRing();
    latencies(500, 5).forEach((v, i) => ring.record('orders', i % 2 === 0 ? 'alice' : 'bob', '(none)', i % 10 === 0 ? 502 : 200, v));
    const [minute] = everything(ring);
    const copy = decodeMinute(encodeMinute(minute!));
    assert.deepEqual(buildReport([copy], query()), buildReport([minute!], query()));
    assert.throws(() => decodeMinute(encodeMinute(minute!).replace('"a":0.01', '"a":0.02')), /accuracy 0.02/);
  });
});

describe('analytics: rollups', () => {
  it('filters by route, consumer and stage, and counts errors by class', () => {
    const { ring } = clockedRing();
    ring.record('orders', 'alice', '(none)', 200, 10);
    ring.record('orders', 'alice', 'beta', 503, 20);
    ring.record('orders', 'bob', '(none)', 404, 30);
    ring.record('items', 'alice', '(none)', 0, 40);
    const all = buildReport(everything(ring), query());
    assert.deepEqual(all.totals, { requests: 4, errors: { '4xx': 1, '5xx': 1 }, clientClosed: 1, overflow: 0 });
    assert.deepEqual(all.top.routes.map((r) => [r.name, r.requests]), [['orders', 3], ['items', 1]]);
    assert.deepEqual(all.top.consumers.map((r) => [r.name, r.requests]), [['alice', 3], ['bob', 1]]);
    assert.deepEqual(all.top.statuses, [{ status: 0, requests: 1 }, { status: 200, requests: 1 }, { status: 404, requests: 1 }, { status: 503, requests: 1 }]);
    const orders = buildReport(everything(ring), query({ route: 'orders', consumer: 'alice' }));
    assert.equal(orders.totals.requests, 2);
    assert.deepEqual(orders.filters, { route: 'orders', consumer: 'alice' });
    assert.equal(orders.latencyMs.max, 20);
    assert.equal(buildReport(everything(ring), query({ stage: 'beta' })).totals.errors['5xx'], 1);
    assert.equal(buildReport(everything(ring), query({ route: 'nope' })).totals.requests, 0);
  });

  it('keeps at most maxCellsPerMinute cells a minute; further combinations count as (other)', () => {
    const { ring, at } = clockedRing(3);
    for (let i = 0; i < 10; i++) ring.record(`route-${i}`, 'alice', '(none)', 200, 5);
    const [minute] = everything(ring);
    assert.equal(minute!.cells.length, 4);
    const report = buildReport(everything(ring), query());
    assert.equal(report.totals.requests, 10);
    assert.equal(report.totals.overflow, 7);
    assert.deepEqual(report.top.routes[0], { name: OTHER, requests: 7, errors: { '4xx': 0, '5xx': 0 } });
    // The cap is per minute: the next minute starts empty.
    at(T0 + MINUTE_MS);
    ring.record('route-9', 'alice', '(none)', 200, 5);
    assert.equal(buildReport(everything(ring), query({ route: 'route-9' })).totals.requests, 1);
  });

  it('keeps 24 hours: a minute older than that is gone, the series covers every minute asked for', () => {
    const { ring, at } = clockedRing();
    ring.record('orders', 'alice', '(none)', 200, 5);
    at(T0 + 30 * MINUTE_MS);
    ring.record('orders', 'alice', '(none)', 200, 5);
    assert.equal(everything(ring).length, 2);
    const m0 = Math.floor(T0 / MINUTE_MS);
    const report = buildReport(everything(ring), { fromMinute: m0, toMinute: m0 + 31, top: 10 });
    assert.equal(report.series.length, 31);
    assert.deepEqual(report.series.filter((p) => p.requests > 0).map((p) => p.minute), [new Date(T0).toISOString(), new Date(T0 + 30 * MINUTE_MS).toISOString()]);
    assert.equal(report.series[1]!.latencyMs.p50, null);

    at(T0 + RETENTION_MINUTES * MINUTE_MS);
    assert.deepEqual(everything(ring).map((m) => m.minute), [m0 + 30], 'the first minute is a day old: out of the window');
    ring.record('orders', 'bob', '(none)', 200, 5);
    at(T0 + (RETENTION_MINUTES + 31) * MINUTE_MS);
    ring.record('orders', 'bob', '(none)', 200, 5);
    assert.deepEqual(everything(ring).map((m) => m.minute), [m0 + RETENTION_MINUTES, m0 + RETENTION_MINUTES + 31]);
  });

  it('a clock that steps back counts in the current minute, never in a closed one', () => {
    const { ring, at } = clockedRing();
    at(T0 + MINUTE_MS);
    ring.record('orders', 'alice', '(none)', 200, 5);
    at(T0);
    ring.record('orders', 'alice', '(none)', 200, 5);
    at(T0 + MINUTE_MS);
    assert.deepEqual(everything(ring).map((m) => [m.minute, m.cells[0]!.requests]), [[Math.floor(T0 / MINUTE_MS) + 1, 2]]);
  });
});

describe('analytics: GET /analytics query parameters', () => {
  const now = T0 + 30_000;
  const parse = (qs: string, sharing = false) => parseAnalyticsQuery(new URLSearchParams(qs), now, { topN: 10, sharing });
  const m = Math.floor(T0 / MINUTE_MS);

  it('defaults to the last hour, the current minute included', () => {
    const p = parse('');
    assert.ok(p.ok);
    assert.deepEqual(p.query, { fromMinute: m - 59, toMinute: m + 1, route: undefined, consumer: undefined, stage: undefined, top: 10, scope: 'node' });
  });

  it('takes ISO times and epoch milliseconds, widened to whole minutes and cut to the 24 hours kept', () => {
    const p = parse(`from=${new Date(T0 - 10 * MINUTE_MS + 1).toISOString()}&to=${T0 - MINUTE_MS + 5}&route=orders&top=3`);
    assert.ok(p.ok);
    assert.equal(p.query.fromMinute, m - 10);
    assert.equal(p.query.toMinute, m);
    assert.equal(p.query.route, 'orders');
    assert.equal(p.query.top, 3);
    const old = parse(`from=${T0 - 3 * 86_400_000}`);
    assert.ok(old.ok);
    assert.equal(old.query.fromMinute, m - RETENTION_MINUTES + 1);
  });

  it('refuses what it cannot read, naming each parameter', () => {
    const p = parse('from=yesterday&to=2025-01-01T00:00:00Z&scope=cluster&top=0&rout=x&stage=');
    assert.ok(!p.ok);
    assert.deepEqual(p.errors.map((e) => e.param).sort(), ['from', 'rout', 'scope', 'stage', 'top']);
    const q = parse(`from=${T0}&to=${T0 - 1}`);
    assert.ok(!q.ok);
    assert.match(q.errors[0]!.message, /before `to`/);
    assert.ok(parse('scope=cluster', true).ok);
  });
});

describe('analytics: config', () => {
  it('sharing needs the root redis section', () => {
    const base = { routes: [{ name: 'r', match: { path: '/r' }, plugins: { mock: {} } }] };
    assert.throws(() => validateConfig({ ...base, analytics: { share: { enabled: true } } }), (err: unknown) =>
      err instanceof ConfigError && err.issues.some((i) => i.path === 'analytics.share.enabled' && /root `redis`/.test(i.message)));
    validateConfig({ ...base, redis: { url: 'redis://127.0.0.1:6379' }, analytics: { share: { enabled: true, interval: '5s' } } });
    assert.throws(() => validateConfig({ ...base, analytics: { maxCellsPerMinute: 0 } }), ConfigError);
  });
});
