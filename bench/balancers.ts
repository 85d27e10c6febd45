/**
 * Micro-benchmark of the balancers' pick() (it runs on every request) and of update() (membership changes).
 * Run: `npx node bench/balancers.ts`. Prints ns per pick with every target eligible and with a third of them
 * out, and the heap bytes a pick leaves behind (should be 0: pick must not allocate).
 */
import { setFlagsFromString, getHeapStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Pool } from 'undici';
import { Target, type BalanceInput, type Balancer } from '../src/upstream/target.ts';
import { createBalancer, type BalancerKind } from '../src/upstream/balancers/index.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const KINDS: BalancerKind[] = ['round-robin', 'least-requests', 'ewma', 'consistent-hash'];
const SIZES = [3, 100];
const PICKS = 1_000_000;
const RUNS = 7;

const pools: Pool[] = [];
function makeTargets(n: number): Target[] {
  return Array.from({ length: n }, (_, i) => {
    const origin = `http://10.0.${i >> 8}.${i & 255}:8080`;
    const pool = new Pool(origin);
    pools.push(pool);
    const t = new Target(origin, 1 + (i % 4), pool);
    t.inflight = i % 5;
    t.ewmaMs = 5 + (i % 7) * 3;
    return t;
  });
}

// Client IPs as hash keys, rotated through so the table lookups are not all cache hits on one slot.
const keys = Array.from({ length: 4096 }, (_, i) => `192.168.${(i >> 8) & 255}.${i & 255}`);
let k = 0;
const input: BalanceInput = { hashKey: () => keys[k++ & 4095] };

// Eligibility the way the upstream builds it: one closure made once, reading state set before the pick.
let now = Date.now();
const eligible = (t: Target) => t.available(now);
/** Marks every third target unhealthy (or all healthy again). */
function third(ts: readonly Target[], out: boolean): void {
  ts.forEach((t, i) => (t.healthy = !(out && i % 3 === 1)));
}

function time(b: Balancer, picks: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < picks; i++) sink += b.pick(input, eligible) === undefined ? 1 : 0;
  const ns = Number(process.hrtime.bigint() - start) / picks;
  if (sink > 0) throw new Error('a pick found nothing');
  return ns;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function bytesPerPick(b: Balancer): number {
  const n = 100_000;
  gc();
  const before = getHeapStatistics().used_heap_size;
  for (let i = 0; i < n; i++) b.pick(input, eligible);
  const after = getHeapStatistics().used_heap_size;
  return Math.max(0, (after - before) / n);
}

function updateMs(kind: BalancerKind, ts: Target[]): number {
  const b = createBalancer(kind);
  const start = process.hrtime.bigint();
  b.update(ts);
  // A real membership change: one target fewer (an unchanged list may be skipped).
  b.update(ts.slice(1));
  return Number(process.hrtime.bigint() - start) / 2e6;
}

const rows: string[][] = [['balancer', 'targets', 'ns/pick', 'ns/pick (1/3 out)', 'bytes/pick', 'update ms']];
for (const kind of KINDS) {
  for (const n of SIZES) {
    const ts = makeTargets(n);
    const b = createBalancer(kind);
    b.update(ts);
    now = Date.now();
    third(ts, true); // warm up both paths
    time(b, 200_000);
    third(ts, false);
    time(b, 200_000);
    const all: number[] = [];
    const some: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      all.push(time(b, PICKS));
      third(ts, true);
      some.push(time(b, PICKS));
      third(ts, false);
    }
    const bytes = bytesPerPick(b);
    rows.push([kind, String(n), median(all).toFixed(1), median(some).toFixed(1), bytes.toFixed(2), updateMs(kind, ts).toFixed(3)]);
  }
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const [i, r] of rows.entries()) {
  console.log(r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log(`\nnode ${process.version}, ${PICKS.toLocaleString('en')} picks per run, median of ${RUNS} runs`);
await Promise.all(pools.map((p) => p.close()));
