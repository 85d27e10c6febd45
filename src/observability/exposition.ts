import type { Metric, Registry } from 'prom-client';
import { VERSION } from '../version.ts';
import type { Runtime } from '../runtime/build.ts';
import type { Target } from '../upstream/target.ts';
import { METRICS, type CollectedMetric, type MetricSpec, type MetricsSource } from './metrics.ts';
import { HistogramCells, METHODS, OTHER, STATUS_CLASSES, type RequestSeries } from './series.ts';
import './limit-metrics.ts';
import './cache-metrics.ts';
import './function-metrics.ts';

/** One sample as prom-client's registry prints it: `metricName` (default: the family's name), labels, value. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * A metric family whose samples are read from the gateway's own counts when the registry asks: prom-client's
 * `get()` contract (what its own metric classes return), so its registry does the text format, escaping and
 * Content-Type. Its Counter and Histogram classes would cost 200–350 ns per update on the request path (see
 * series.ts); these cost nothing until a scrape.
 */
class Family {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator = 'sum';
  readonly #read: (out: Sample[]) => void;

  constructor(spec: Pick<MetricSpec, 'name' | 'help' | 'type'>, read: (out: Sample[]) => void) {
    this.name = spec.name;
    this.help = spec.help;
    this.type = spec.type;
    this.#read = read;
  }

  async get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    const values: Sample[] = [];
    this.#read(values);
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/**
 * Adds families to a registry; throws, adding none, when one's name is taken (in it or in `others`). prom-client
 * types `registerMetric` with its own classes; Family has their shape.
 */
export function registerFamilies(registry: Registry, families: readonly Family[], others: readonly Registry[] = []): void {
  const taken = families.find((f) => [registry, ...others].some((r) => r.getSingleMetric(f.name) !== undefined));
  if (taken !== undefined) throw new Error(`metric "${taken.name}" is already served`);
  for (const f of families) registry.registerMetric(f as unknown as Metric);
}

/** `_bucket` (cumulative, `le` last), `_sum` and `_count` samples of one histogram series. */
function histogramSamples(out: Sample[], name: string, labels: Record<string, string>, h: HistogramCells): void {
  let cumulative = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i]!;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: h.bounds[i]! }, value: cumulative });
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels, value: h.sum });
  out.push({ metricName: `${name}_count`, labels, value: h.count });
}

/** The request metrics, from the counts the handler keeps. Only series that counted something are listed. */
export function requestFamilies(series: RequestSeries): Family[] {
  const routes = () => [...series.routes.values()];
  return [
    new Family(METRICS.httpRequests, (out) => {
      for (const r of routes()) {
        r.requests.forEach((value, i) => {
          if (value > 0) {
            const method = METHODS[Math.floor(i / STATUS_CLASSES.length)]!;
            out.push({ labels: { route: r.route, method, status_class: STATUS_CLASSES[i % STATUS_CLASSES.length]! }, value });
          }
        });
      }
    }),
    new Family(METRICS.httpErrors, (out) => {
      for (const r of routes()) for (const [code, value] of r.errors ?? []) out.push({ labels: { route: r.route, code }, value });
    }),
    new Family(METRICS.httpDuration, (out) => {
      for (const r of routes()) {
        r.durations.forEach((h, m) => {
          if (h !== undefined) histogramSamples(out, METRICS.httpDuration.name, { route: r.route, method: METHODS[m]! }, h);
        });
      }
    }),
    new Family(METRICS.upstreamDuration, (out) => {
      for (const r of routes()) if (r.upstream !== undefined) histogramSamples(out, METRICS.upstreamDuration.name, { route: r.route }, r.upstream);
    }),
    new Family(METRICS.gatewayOverhead, (out) => {
      for (const r of routes()) if (r.overhead !== undefined) histogramSamples(out, METRICS.gatewayOverhead.name, { route: r.route }, r.overhead);
    }),
    new Family(METRICS.requestBytes, (out) => {
      for (const r of routes()) out.push({ labels: { route: r.route }, value: r.bytesIn });
    }),
    new Family(METRICS.responseBytes, (out) => {
      for (const r of routes()) out.push({ labels: { route: r.route }, value: r.bytesOut });
    }),
    new Family(METRICS.authFailures, (out) => {
      for (const r of routes()) {
        for (const [key, value] of r.authFailures ?? []) {
          const [outcome, method] = key.split('\u0000') as [string, string];
          out.push({ labels: { route: r.route, outcome, auth_method: method }, value });
        }
      }
    }),
    new Family(METRICS.consumerRequests, (out) => {
      const add = (consumer: string, cells: Float64Array) => cells.forEach((value, sc) => {
        if (value > 0) out.push({ labels: { consumer, status_class: STATUS_CLASSES[sc]! }, value });
      });
      for (const [name, cells] of series.consumers) add(name, cells);
      add(OTHER, series.otherConsumers);
    }),
    new Family(METRICS.rejectedRequests, (out) => {
      for (const [code, value] of series.rejected) out.push({ labels: { code }, value });
    }),
  ];
}

/** Gateway-wide state: connections, reloads, versions. */
export function serverFamilies(source: MetricsSource): Family[] {
  return [
    new Family(METRICS.openConnections, (out) => out.push({ labels: {}, value: source.openConnections })),
    new Family(METRICS.configReloads, (out) => out.push({ labels: {}, value: source.reloads })),
    new Family(METRICS.buildInfo, (out) => out.push({ labels: { version: VERSION, node: process.versions.node }, value: 1 })),
  ];
}

/** Upstream targets of the live runtime, read at scrape time: no per-request cost. */
export function upstreamFamilies(rt: Runtime): Family[] {
  const now = Date.now();
  const perTarget = (spec: MetricSpec, value: (t: Target) => number) =>
    new Family(spec, (out) => {
      for (const u of rt.upstreams.values()) for (const t of u.targets) out.push({ labels: { upstream: u.name, target: t.id }, value: value(t) });
    });
  return [
    perTarget(METRICS.targetHealthy, (t) => (t.healthy && t.ejectedUntil <= now ? 1 : 0)),
    perTarget(METRICS.targetDraining, (t) => (t.draining ? 1 : 0)),
    perTarget(METRICS.targetInflight, (t) => t.inflight),
    perTarget(METRICS.targetRequests, (t) => t.counters.requests),
    perTarget(METRICS.targetFailures, (t) => t.counters.failures),
    new Family(METRICS.upstreamQueued, (out) => {
      for (const u of rt.upstreams.values()) if (u.limiter !== undefined) out.push({ labels: { upstream: u.name }, value: u.limiter.queued });
    }),
    new Family(METRICS.upstreamLimit, (out) => {
      for (const u of rt.upstreams.values()) if (u.limiter !== undefined) out.push({ labels: { upstream: u.name }, value: u.limiter.limit });
    }),
  ];
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A collector's metric as a family; throws on a name or label the text format can't carry. */
export function collectedFamily(m: CollectedMetric): Family {
  if (!NAME_RE.test(m.name)) throw new Error(`invalid metric name "${m.name}"`);
  for (const s of m.samples) {
    for (const l of Object.keys(s.labels)) if (!LABEL_RE.test(l) || l.startsWith('__')) throw new Error(`${m.name}: invalid label name "${l}"`);
  }
  const samples = m.samples.map((s) => ({ labels: { ...s.labels }, value: s.value }));
  return new Family(m, (out) => out.push(...samples));
}
