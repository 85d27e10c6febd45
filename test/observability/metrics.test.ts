import { describe, it } from 'node:test';
import { LIMIT_METRIC } from '../../src/limits/stats.ts';
import { CACHE_METRICS } from '../../src/cache/stats.ts';
import { FUNCTION_METRICS } from '../../src/observability/function-metrics.ts';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RequestContext, type GatewayRequest } from '../../src/core/context.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { DEFAULT_LATENCY_BUCKETS } from '../../src/config/schema/observability.ts';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import type { Runtime } from '../../src/runtime/build.ts';
import { METRICS, registerCollector, type MetricsSource } from '../../src/observability/metrics.ts';
import { GatewayMetrics, metricsSettings } from '../../src/observability/gateway-metrics.ts';
import { HistogramCells, methodIndex, METHODS, statusClassIndex, STATUS_CLASSES } from '../../src/observability/series.ts';
import { processMetricNames } from '../../src/observability/process.ts';
import { parseExposition } from './support.ts';

function source(logger: Logger = silentLogger): MetricsSource {
  return { runtime: { upstreams: new Map() } as unknown as Runtime, reloads: 0, openConnections: 0, logger };
}

/** A finished exchange as the handler leaves it. */
function exchange(method: string, status: number, options: { route?: string; started?: number } = {}): RequestContext {
  const req = { headers: {} } as unknown as GatewayRequest;
  const ctx = new RequestContext(req, method, 'h', '/p', '', 'http', '127.0.0.1', options.started ?? performance.now());
  if (options.route !== undefined) ctx.route = { name: options.route } as RequestContext['route'];
  ctx.status = status;
  return ctx;
}

async function samples(m: GatewayMetrics) {
  return parseExposition((await m.scrape()).body).samples;
}

describe('label values', () => {
  it('methods: the standard ones, everything else OTHER', () => {
    for (const [i, m] of METHODS.entries()) if (m !== 'OTHER') assert.equal(methodIndex(m), i);
    for (const m of ['get', 'FOO', 'PROPFIND', '', '__proto__', 'constructor', 'GET ']) assert.equal(METHODS[methodIndex(m)], 'OTHER', m);
  });

  it('status classes: 1xx to 5xx, none for no response or a status out of range', () => {
    const of = (s: number) => STATUS_CLASSES[statusClassIndex(s)];
    assert.deepEqual([0, 99, 100, 101, 199, 200, 204, 301, 404, 429, 500, 599, 600, 999, -1].map(of),
      ['none', 'none', '1xx', '1xx', '1xx', '2xx', '2xx', '3xx', '4xx', '4xx', '5xx', '5xx', 'none', 'none', 'none']);
  });
});

describe('histogram cells', () => {
  it('a value on a bound counts in that bucket (le), above the last in +Inf', () => {
    const h = new HistogramCells(Float64Array.from([0.1, 0.5, 1]));
    for (const v of [0, 0.1, 0.10001, 0.5, 0.7, 1, 1.5, 100]) h.observe(v);
    assert.deepEqual([...h.counts], [2, 2, 2, 2]);
    assert.equal(h.count, 8);
    assert.ok(Math.abs(h.sum - 103.90001) < 1e-9);
  });
});

describe('metrics settings', () => {
  it('defaults: enabled, no consumer labels, 100 consumers, prom-client\'s buckets', () => {
    const s = metricsSettings(undefined);
    assert.equal(s.enabled, true);
    assert.equal(s.consumerLabels, false);
    assert.equal(s.maxConsumers, 100);
    assert.deepEqual(s.latencyBuckets, DEFAULT_LATENCY_BUCKETS);
    assert.equal(s.process, true);
  });

  it('buckets are sorted and repeats dropped', () => {
    assert.deepEqual(metricsSettings({ latencyBuckets: [1, 0.1, 0.5, 0.1] } as never).latencyBuckets, [0.1, 0.5, 1]);
  });

  it('the config is validated: bad values name their path', () => {
    const issues = (metrics: unknown) => {
      try {
        validateConfig({ routes: [], metrics });
        return [];
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.issues.map((i) => `${i.path}: ${i.message}`);
      }
    };
    assert.deepEqual(issues({ consumerLabels: true, maxConsumers: 50, latencyBuckets: [0.1, 1] }), []);
    assert.deepEqual(issues({ maxConsumers: 0 }), ['metrics.maxConsumers: must be at least 1, not 0']);
    assert.deepEqual(issues({ latencyBuckets: [0.1, 0] }), ['metrics.latencyBuckets[1]: must be a number of seconds above 0']);
    assert.deepEqual(issues({ latencyBuckets: [] }), ['metrics.latencyBuckets: must have at least 1 item']);
    assert.deepEqual(issues({ enable: false }), ['metrics.enable: unknown key "enable" (did you mean "enabled"?)']);
  });
});

describe('GatewayMetrics', () => {
  it('changing the buckets starts the histograms again; counters carry on', async () => {
    const m = new GatewayMetrics(source(), { process: false } as never);
    m.record(exchange('GET', 200, { route: 'r', started: performance.now() - 300 }));
    m.configure({ process: false, latencyBuckets: [0.25, 1] } as never);
    m.record(exchange('GET', 200, { route: 'r', started: performance.now() - 300 }));
    const s = await samples(m);
    const one = (name: string, labels: Record<string, string>) => s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    assert.equal(one('expeditor_http_requests_total', { route: 'r' })[0]!.value, 2);
    assert.equal(one('expeditor_http_request_duration_seconds_count', { route: 'r' })[0]!.value, 1);
    assert.deepEqual(one('expeditor_http_request_duration_seconds_bucket', { route: 'r' }).map((x) => [x.labels.le, x.value]), [['0.25', 0], ['1', 1], ['+Inf', 1]]);
  });

  it('without the process metrics, only the gateway\'s own', async () => {
    const m = new GatewayMetrics(source(), { process: false } as never);
    assert.ok(!(await m.scrape()).body.includes('expeditor_process_'));
    m.configure(undefined);
    assert.ok((await m.scrape()).body.includes('expeditor_process_resident_memory_bytes'));
  });

  it('registerCollector adds metrics at scrape time; a failing or clashing collector is left out and logged', async () => {
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (msg: string) => warnings.push(msg) } as Logger;
    const m = new GatewayMetrics(source(logger), { process: false } as never);
    let allowed = 0;
    const removeGood = registerCollector(() => [{
      name: 'expeditor_test_decisions_total', help: 'Decisions counted elsewhere.', type: 'counter',
      samples: [{ labels: { policy: 'route:a', outcome: 'allowed' }, value: allowed }],
    }]);
    const removeBad = registerCollector(() => {
      throw new Error('broken');
    });
    const removeClash = registerCollector(() => [{ name: METRICS.httpRequests.name, help: 'x', type: 'counter', samples: [] }]);
    try {
      allowed = 42;
      const text = (await m.scrape()).body;
      assert.match(text, /^# TYPE expeditor_test_decisions_total counter$/m);
      assert.match(text, /^expeditor_test_decisions_total\{policy="route:a",outcome="allowed"\} 42$/m);
      assert.equal(text.match(/# TYPE expeditor_http_requests_total/g)?.length, 1);
      assert.equal(warnings.length, 2);
    } finally {
      removeGood();
      removeBad();
      removeClash();
    }
    assert.ok(!(await m.scrape()).body.includes('expeditor_test_decisions_total'));
  });

  it('a collector\'s names and labels must fit the text format', async () => {
    const warnings: unknown[] = [];
    const logger = { ...silentLogger, warn: (_msg: string, fields: unknown) => warnings.push(fields) } as Logger;
    const m = new GatewayMetrics(source(logger), { process: false } as never);
    const remove = registerCollector(() => [{ name: 'bad-name', help: 'x', type: 'gauge', samples: [] }]);
    try {
      assert.ok(!(await m.scrape()).body.includes('bad-name'));
      assert.match(String((warnings[0] as { err: Error }).err.message), /invalid metric name "bad-name"/);
    } finally {
      remove();
    }
  });
});

describe('docs/observability.md', () => {
  const doc = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');

  it('lists every metric with its type and labels', () => {
    for (const spec of Object.values(METRICS)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${spec.name}\` |`));
      assert.ok(row, `${spec.name} is not in the metrics table`);
      const cells = row.split('|').map((c) => c.trim());
      assert.equal(cells[2], spec.type, spec.name);
      assert.equal(cells[3], spec.labels.map((l) => `\`${l}\``).join(', '), spec.name);
    }
  });

  it('lists every process metric, and names no metric the gateway does not serve', () => {
    // Metrics that other modules count and a collector serves at scrape time (limit-metrics.ts, cache-metrics.ts).
    const collected = [LIMIT_METRIC, ...Object.values(CACHE_METRICS), ...Object.values(FUNCTION_METRICS)];
    const served = new Set<string>([...Object.values(METRICS).map((s) => s.name), ...processMetricNames(), ...collected]);
    for (const name of collected) assert.ok(doc.includes(`| \`${name}\` |`), `${name} is not in the metrics table`);
    for (const name of processMetricNames()) assert.ok(doc.includes(`\`${name}\``), `${name} is not documented`);
    const dashboard = readFileSync(new URL('../../docs/grafana/expeditor-dashboard.json', import.meta.url), 'utf8');
    JSON.parse(dashboard);
    for (const [where, text] of [['docs/observability.md', doc], ['the dashboard', dashboard]] as const) {
      for (const [name] of text.matchAll(/\bexpeditor_[a-z0-9_]+/g)) {
        const family = name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(served.has(name) || served.has(family), `${where} names ${name}, which is not served`);
      }
    }
  });
});
