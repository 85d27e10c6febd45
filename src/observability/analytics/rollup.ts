import { LatencySketch } from './latency-sketch.ts';

/**
 * Per-minute rollups of finished exchanges. A minute holds cells keyed by route × consumer × stage; a cell counts
 * requests, requests per status, and keeps a latency sketch. The number of cells a minute may hold is capped: past
 * the cap, a new combination is counted in one overflow cell whose three labels are `(other)`, so memory is bounded
 * whatever the config and the traffic.
 */

/** The label of an absent dimension: no route took the request, no consumer, no stage. Names can't contain "(". */
export const NONE = '(none)';
/** Every label of the overflow cell. */
export const OTHER = '(other)';

export const MINUTE_MS = 60_000;
/** Minutes kept: 24 hours. */
export const RETENTION_MINUTES = 1440;

/** One route × consumer × stage within one minute. */
export class Cell {
  readonly route: string;
  readonly consumer: string;
  readonly stage: string;
  requests = 0;
  /**
   * Requests by status sent, as pairs `[status, count, status, count…]` (0: the client went away before any
   * response started). A cell sees a handful of statuses: a scan of a short array is as quick as a Map, and a
   * closed minute's cells are many, where a Map would cost more than the rest of the cell.
   */
  statuses: number[] = [];
  readonly latency: LatencySketch;

  constructor(route: string, consumer: string, stage: string, latency = new LatencySketch()) {
    this.route = route;
    this.consumer = consumer;
    this.stage = stage;
    this.latency = latency;
  }

  count(status: number, n = 1): void {
    this.requests += n;
    const s = this.statuses;
    for (let i = 0; i < s.length; i += 2) {
      if (s[i] === status) {
        s[i + 1]! += n;
        return;
      }
    }
    s.push(status, n);
  }

  /** Drops spare capacity and compacts the sketch (the minute is over). */
  freeze(): void {
    this.statuses = this.statuses.slice();
    this.latency.freeze();
  }
}

/** One minute of one node. */
export class MinuteRollup {
  /** Minutes since the Unix epoch (UTC): the same minute on every node. */
  readonly minute: number;
  /** Every cell, in the order they were created. */
  readonly cells: Cell[] = [];
  /**
   * The cells by route, consumer and stage, while the minute takes records. Nested maps rather than one map keyed
   * by the three joined: the names come from the config, the same string objects on every request, whose hashes
   * V8 keeps, so a lookup builds no string.
   */
  #index: Map<string, Map<string, Map<string, Cell>>> | undefined = new Map();
  #overflow: Cell | undefined;
  /** Changed since it was last written to Redis (set by every record; the sharing clears it). */
  dirty = false;

  constructor(minute: number) {
    this.minute = minute;
  }

  /**
   * Counts one exchange; `latencyMs` negative for one without a request latency (a WebSocket upgrade: its
   * duration is the connection's). A new combination past `maxCells` goes to the overflow cell.
   */
  record(route: string, consumer: string, stage: string, status: number, latencyMs: number, maxCells: number): void {
    const cell = this.#index?.get(route)?.get(consumer)?.get(stage) ?? this.#add(route, consumer, stage, maxCells);
    cell.count(status);
    if (latencyMs >= 0) cell.latency.add(latencyMs);
    this.dirty = true;
  }

  /** Adds a cell, or answers the overflow cell past `maxCells` (it is not in the index: it is no combination). */
  #add(route: string, consumer: string, stage: string, maxCells: number): Cell {
    if (this.cells.length - (this.#overflow === undefined ? 0 : 1) >= maxCells) return this.#overflow ?? this.insert(new Cell(OTHER, OTHER, OTHER));
    const cell = this.insert(new Cell(route, consumer, stage));
    const index = (this.#index ??= new Map());
    let byConsumer = index.get(route);
    if (byConsumer === undefined) index.set(route, (byConsumer = new Map()));
    let byStage = byConsumer.get(consumer);
    if (byStage === undefined) byConsumer.set(consumer, (byStage = new Map()));
    byStage.set(stage, cell);
    return cell;
  }

  /** Adds a cell as it is (decoding a shared rollup, which takes no records: no index). */
  insert(cell: Cell): Cell {
    if (cell.route === OTHER && cell.consumer === OTHER && cell.stage === OTHER) this.#overflow = cell;
    this.cells.push(cell);
    return cell;
  }

  /** The minute is over: compacts every cell and drops the index (it takes no more records). */
  freeze(): void {
    for (const c of this.cells) c.freeze();
    this.#index = undefined;
  }
}

/**
 * The last 24 hours of one node, minute by minute: a ring of RETENTION_MINUTES slots indexed by minute, so a minute
 * older than that is overwritten (and one the ring skipped over is cleared when the clock passes it). Time is the
 * wall clock (`clock`, injectable for tests), in whole UTC minutes, so nodes agree on what a minute is.
 */
export class RollupRing {
  readonly #slots: Array<MinuteRollup | undefined> = new Array<MinuteRollup | undefined>(RETENTION_MINUTES).fill(undefined);
  readonly #clock: () => number;
  #current: MinuteRollup | undefined;
  maxCells: number;

  constructor(maxCells: number, clock: () => number = Date.now) {
    this.maxCells = maxCells;
    this.#clock = clock;
  }

  now(): number {
    return this.#clock();
  }

  /**
   * Counts one exchange in the minute of `wallMs` (default: the clock now); never in an earlier minute than the
   * last one counted, if the clock steps back.
   */
  record(route: string, consumer: string, stage: string, status: number, latencyMs: number, wallMs = this.#clock()): void {
    const minute = Math.floor(wallMs / MINUTE_MS);
    let m = this.#current;
    if (m === undefined || minute > m.minute) m = this.#open(minute);
    m.record(route, consumer, stage, status, latencyMs, this.maxCells);
  }

  #open(minute: number): MinuteRollup {
    const prev = this.#current;
    if (prev !== undefined) {
      prev.freeze();
      // Slots between the previous minute and this one hold minutes a day old or older: free them now.
      for (let m = prev.minute + 1; m < minute && m <= prev.minute + RETENTION_MINUTES; m++) this.#slots[m % RETENTION_MINUTES] = undefined;
    }
    const next = new MinuteRollup(minute);
    this.#slots[minute % RETENTION_MINUTES] = next;
    this.#current = next;
    return next;
  }

  /** The minutes in [from, to) that have data and are within the last 24 hours, oldest first. */
  minutes(from: number, to: number): MinuteRollup[] {
    const nowMinute = Math.floor(this.#clock() / MINUTE_MS);
    const start = Math.max(from, nowMinute - RETENTION_MINUTES + 1);
    const out: MinuteRollup[] = [];
    for (let m = start; m < to && m <= nowMinute; m++) {
      const slot = this.#slots[m % RETENTION_MINUTES];
      if (slot !== undefined && slot.minute === m) out.push(slot);
    }
    return out;
  }

  /** Drops everything (analytics turned off). */
  clear(): void {
    this.#slots.fill(undefined);
    this.#current = undefined;
  }
}
