import { DDSketch } from '@datadog/sketches-js';

/**
 * Latency distributions as DDSketches (Datadog's `@datadog/sketches-js`): a quantile read from a sketch is within
 * RELATIVE_ACCURACY of the exact one whatever the distribution, and two sketches merge by adding their bins, so the
 * merge of two nodes' sketches is exactly the sketch of their combined traffic. (An HDR histogram merges as well,
 * but fixes its range up front and brings three more packages; a t-digest's merge is only approximate.)
 *
 * The package is used for what it does well, the logarithmic key mapping, the growing bin store and the rank walk.
 * Merging and serialisation are done here through `store.add(key, weight)`: its `toProto` needs `protobufjs`, which
 * the package does not declare, `fromProto` drops min, max and sum, and `DenseStore.merge` misses a top key of 0
 * when it widens its range.
 */

/** Every sketch's accuracy: 1%. Sketches merge only with the same accuracy, so it is fixed, not configurable. */
export const RELATIVE_ACCURACY = 0.01;

/**
 * A sketch's content as plain data: the non-empty bins and the exact count, sum, min and max. What a closed minute
 * keeps, and what goes to Redis (as JSON, see rollup-codec.ts).
 */
export interface SketchData {
  /**
   * Pairs `[key, count, key, count…]`, keys ascending. A closed minute keeps them in an Int32Array past a few
   * pairs (4 bytes a number rather than 8), in a plain array below (a typed array's own overhead would outweigh it).
   */
  readonly bins: ArrayLike<number>;
  /** Values too small to tell from 0 (below about 1e-300 ms). */
  readonly zeros: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

const EMPTY: SketchData = Object.freeze({
  bins: [], zeros: 0, count: 0, sum: 0, min: Infinity, max: -Infinity,
});

function newSketch(): DDSketch {
  return new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
}

/**
 * One cell's latencies in milliseconds. Live (a DDSketch, one `accept` per value) while its minute is open; frozen
 * into SketchData when the minute closes, which keeps only the non-empty bins (8 bytes each; a bin is 2% wide)
 * instead of the live store's whole range.
 */
export class LatencySketch {
  #live: DDSketch | undefined;
  #frozen: SketchData | undefined;

  constructor(frozen?: SketchData) {
    if (frozen === undefined) this.#live = newSketch();
    else this.#frozen = frozen;
  }

  /** Adds one value (ms, >= 0). A frozen sketch takes values again (a late exchange): it is thawed first. */
  add(ms: number): void {
    (this.#live ??= thaw(this.#frozen!)).accept(ms);
    this.#frozen = undefined;
  }

  get count(): number {
    return this.#live !== undefined ? this.#live.count : this.#frozen!.count;
  }

  /** Compacts the sketch to its non-empty bins; later reads and merges are unchanged. */
  freeze(): void {
    if (this.#live === undefined) return;
    this.#frozen = dataOf(this.#live);
    this.#live = undefined;
  }

  data(): SketchData {
    return this.#frozen ?? dataOf(this.#live!);
  }
}

/** Pairs from which the bins go in an Int32Array (counts of one cell's minute stay far below 2^31). */
const TYPED_FROM = 12;

function dataOf(s: DDSketch): SketchData {
  if (s.count === 0) return EMPTY;
  const store = s.store;
  let n = 0;
  for (let k = store.minKey; k <= store.maxKey; k++) if ((store.bins[k - store.offset] ?? 0) > 0) n++;
  const bins = n >= TYPED_FROM ? new Int32Array(2 * n) : new Array<number>(2 * n);
  let i = 0;
  for (let k = store.minKey; k <= store.maxKey; k++) {
    const c = store.bins[k - store.offset] ?? 0;
    if (c > 0) {
      bins[i++] = k;
      bins[i++] = c;
    }
  }
  return { bins, zeros: s.zeroCount, count: s.count, sum: s.sum, min: s.min, max: s.max };
}

function thaw(data: SketchData): DDSketch {
  const s = newSketch();
  addData(s, data);
  return s;
}

/** Adds `data` into `s`: bin by bin, and the exact summary figures. */
function addData(s: DDSketch, data: SketchData): void {
  if (data.count === 0) return;
  const bins = data.bins;
  for (let i = 0; i < bins.length; i += 2) s.store.add(bins[i]!, bins[i + 1]!);
  s.zeroCount += data.zeros;
  s.count += data.count;
  s.sum += data.sum;
  if (data.min < s.min) s.min = data.min;
  if (data.max > s.max) s.max = data.max;
}

/** Latency figures of a merged distribution, in milliseconds (null when it has no values). */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

const QUANTILES = [['p50', 0.5], ['p90', 0.9], ['p95', 0.95], ['p99', 0.99]] as const;

/** Merges sketches; the result is the same whatever the order of the merges. */
export class SketchMerger {
  readonly #sketch = newSketch();

  add(data: SketchData): void {
    addData(this.#sketch, data);
  }

  get count(): number {
    return this.#sketch.count;
  }

  /**
   * The value at quantile `q` (0..1): the sketch's rank `q × (count − 1)` (rounded down), kept within the exact
   * min and max. Within 1% of the exact value at that rank.
   */
  quantile(q: number): number | null {
    const s = this.#sketch;
    if (s.count === 0) return null;
    return Math.min(s.max, Math.max(s.min, s.getValueAtQuantile(q)));
  }

  summary(): LatencySummary {
    const s = this.#sketch;
    const out: Record<string, number | null> = { count: s.count };
    for (const [name, q] of QUANTILES) out[name] = round(this.quantile(q));
    out.max = s.count === 0 ? null : round(s.max);
    out.mean = s.count === 0 ? null : round(s.sum / s.count);
    return out as unknown as LatencySummary;
  }

  data(): SketchData {
    return dataOf(this.#sketch);
  }
}

/** Microsecond resolution is plenty for a number shown in milliseconds. */
function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 1000) / 1000;
}
