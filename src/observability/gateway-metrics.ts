import { Registry } from 'prom-client';
import { Value } from '@sinclair/typebox/value';
import { MetricsConfig, type MetricsConfigT } from '../config/schema/observability.ts';
import type { RequestContext } from '../core/context.ts';
import type { ErrorCode } from '../core/errors.ts';
import { metricsCollectors, type MetricsSource } from './metrics.ts';
import { RequestSeries } from './series.ts';
import { collectedFamily, registerFamilies, requestFamilies, serverFamilies, upstreamFamilies } from './exposition.ts';
import { processRegistry } from './process.ts';

/** The config's `metrics` section with its defaults, buckets sorted and without repeats. */
export function metricsSettings(config: MetricsConfigT | undefined): MetricsConfigT {
  const s = Value.Default(MetricsConfig, structuredClone(config ?? {})) as MetricsConfigT;
  const buckets = (b: readonly number[]) => [...new Set(b)].sort((x, y) => x - y);
  return { ...s, latencyBuckets: buckets(s.latencyBuckets), overheadBuckets: buckets(s.overheadBuckets) };
}

/**
 * A gateway's metrics: what the request handler records as exchanges end, and the Prometheus text the admin API
 * serves. Lives as long as the gateway; `configure` applies a (re)loaded config's `metrics` section.
 */
export class GatewayMetrics {
  /** false: the handler records nothing, and `GET /metrics` answers 404. */
  enabled = false;
  readonly series = new RequestSeries();
  #process = true;
  readonly #source: MetricsSource;

  constructor(source: MetricsSource, config: MetricsConfigT | undefined) {
    this.#source = source;
    this.configure(config);
  }

  configure(config: MetricsConfigT | undefined): void {
    const s = metricsSettings(config);
    this.series.configure(s);
    this.#process = s.process;
    this.enabled = s.enabled;
  }

  /** One finished exchange (the handler calls it only while enabled). */
  record(ctx: RequestContext): void {
    this.series.record(ctx, performance.now());
  }

  /** A request the server refused before it reached the handler. */
  rejected(code: ErrorCode): void {
    if (this.enabled) this.series.countRejected(code);
  }

  /** The Prometheus text exposition of everything, and its Content-Type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const source = this.#source;
    const registry = new Registry();
    registerFamilies(registry, requestFamilies(this.series));
    registerFamilies(registry, serverFamilies(source));
    registerFamilies(registry, upstreamFamilies(source.runtime));
    const others = this.#process ? [processRegistry()] : [];
    for (const collect of metricsCollectors()) {
      try {
        registerFamilies(registry, [...collect(source)].map(collectedFamily), others);
      } catch (err) {
        source.logger.warn('metrics collector failed; its metrics are left out of this scrape', { err });
      }
    }
    const merged = others.length > 0 ? Registry.merge([registry, ...others]) : registry;
    return { contentType: merged.contentType, body: await merged.metrics() };
  }
}
