import { LatencySketch, RELATIVE_ACCURACY, type SketchData } from './latency-sketch.ts';
import { Cell, MinuteRollup } from './rollup.ts';

/**
 * A minute's rollup as JSON, the form nodes share through Redis. Version 1:
 *
 * ```json
 * { "v": 1, "a": 0.01, "minute": 29123456,
 *   "cells": [{ "r": "orders", "c": "alice", "s": "(none)", "st": { "200": 11, "503": 1 },
 *               "l": { "k": [340, 2, 1], "b": [3, 8, 1], "z": 0, "sum": 310.5, "min": 20.1, "max": 41.7 } }] }
 * ```
 *
 * `st` counts requests by status (a cell's requests are their sum); `l` is the latency sketch: `k` the non-empty bins' keys, the first as it is and each next one as the step from the
 * one before (mostly 1), `b` their counts. `a` is the sketches' relative accuracy: a rollup written with another
 * accuracy (another version of Expeditor) can't be merged and is refused.
 */

const VERSION = 1;

interface SketchJson {
  k: number[];
  b: number[];
  z: number;
  sum: number;
  min: number | null;
  max: number | null;
}

interface CellJson {
  r: string;
  c: string;
  s: string;
  st: Record<string, number>;
  l: SketchJson;
}

interface MinuteJson {
  v: number;
  a: number;
  minute: number;
  cells: CellJson[];
}

export function encodeMinute(m: MinuteRollup): string {
  const cells: CellJson[] = [];
  for (const c of m.cells) {
    cells.push({ r: c.route, c: c.consumer, s: c.stage, st: statusObject(c.statuses), l: encodeSketch(c.latency.data()) });
  }
  return JSON.stringify({ v: VERSION, a: RELATIVE_ACCURACY, minute: m.minute, cells } satisfies MinuteJson);
}

function statusObject(pairs: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < pairs.length; i += 2) out[pairs[i]!] = pairs[i + 1]!;
  return out;
}

function encodeSketch(d: SketchData): SketchJson {
  const n = d.bins.length / 2;
  const k = new Array<number>(n);
  const b = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    k[i] = i === 0 ? d.bins[0]! : d.bins[2 * i]! - d.bins[2 * i - 2]!;
    b[i] = d.bins[2 * i + 1]!;
  }
  // JSON has no Infinity: an empty sketch's min and max are null.
  return { k, b, z: d.zeros, sum: d.sum, min: d.count === 0 ? null : d.min, max: d.count === 0 ? null : d.max };
}

/** The rollup in `text`; throws a plain Error saying what is wrong when it is not one this version can merge. */
export function decodeMinute(text: string): MinuteRollup {
  const j = JSON.parse(text) as Partial<MinuteJson>;
  if (j.v !== VERSION) throw new Error(`analytics rollup version ${String(j.v)}, expected ${VERSION}`);
  if (j.a !== RELATIVE_ACCURACY) throw new Error(`analytics rollup with sketch accuracy ${String(j.a)}, expected ${RELATIVE_ACCURACY}`);
  if (!Number.isSafeInteger(j.minute) || !Array.isArray(j.cells)) throw new Error('malformed analytics rollup');
  const m = new MinuteRollup(j.minute!);
  for (const c of j.cells) {
    const cell = new Cell(String(c.r), String(c.c), String(c.s), new LatencySketch(decodeSketch(c.l)));
    for (const [status, n] of Object.entries(c.st ?? {})) cell.count(Number(status), Number(n));
    m.insert(cell);
  }
  return m;
}

function decodeSketch(l: SketchJson | undefined): SketchData {
  if (l === undefined || !Array.isArray(l.k) || !Array.isArray(l.b) || l.k.length !== l.b.length) throw new Error('malformed analytics sketch');
  const bins = new Array<number>(2 * l.k.length);
  const zeros = Number(l.z) || 0;
  let count = zeros;
  for (let i = 0; i < l.k.length; i++) {
    const key = i === 0 ? l.k[0]! : bins[2 * i - 2]! + l.k[i]!;
    const n = l.b[i]!;
    if (!Number.isSafeInteger(key) || !Number.isSafeInteger(n) || n < 0) throw new Error('malformed analytics sketch');
    bins[2 * i] = key;
    bins[2 * i + 1] = n;
    count += n;
  }
  return { bins, zeros, count, sum: Number(l.sum) || 0, min: l.min ?? Infinity, max: l.max ?? -Infinity };
}
