import type { BalanceInput, Balancer, Target } from '../target.ts';
import { hash32 } from './hash.ts';
import { smoothPick } from './round-robin.ts';

export interface ConsistentHashOptions {
  /**
   * Lookup table size; rounded up to a prime and to at least 100 entries per target. Larger tables follow
   * weights more closely and move fewer keys on membership changes, at O(size) memory and rebuild time.
   * Default 65537.
   */
  tableSize?: number;
}

/** Slots probed past a key's own before falling back to a scan of the targets. */
const MAX_WALK = 64;
const SEED_OFFSET = 0x9e3779b9;
const SEED_SKIP = 0x7f4a7c15;

/**
 * Maglev hashing (Eisenbud et al., NSDI 2016): a lookup table of prime size where every target claims slots
 * along its own pseudo-random permutation, in turns whose frequency follows its weight. A key goes to the target
 * of slot `hash(key) mod size`: O(1) per pick, shares within a fraction of a percent of the weights, and a
 * membership change remaps about the changed target's share of keys (plus a small spill-over, the price of the
 * even spread; see the paper, §3.4). The table depends only on the set of targets and their weights, not on
 * their order or on history, so every gateway instance maps a key the same way.
 *
 * When a key's target is not eligible (unhealthy, ejected, already tried), the following slots are walked until
 * an eligible target turns up: the fallback is deterministic per key, spread across the other targets by weight,
 * and the key returns home as soon as its target is eligible again. Requests without a key are spread by smooth
 * weighted round-robin.
 */
export class ConsistentHashBalancer implements Balancer {
  readonly name = 'consistent-hash';
  readonly #minSize: number;
  /** Targets in table order (sorted by id, weight 0 left out); the table holds indices into it. */
  #targets: readonly Target[] = [];
  #table: Uint16Array | Uint32Array = new Uint16Array(0);
  /** Membership the table was built for, to skip rebuilding when an update changes nothing. */
  #signature = '';

  constructor(options: ConsistentHashOptions = {}) {
    this.#minSize = options.tableSize ?? 65537;
  }

  update(targets: readonly Target[]): void {
    const live = targets.filter((t) => t.weight > 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const signature = live.map((t) => `${t.id}*${t.weight}`).join(' ');
    this.#targets = live;
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#table = live.length === 0 ? new Uint16Array(0) : buildTable(live, nextPrime(Math.max(this.#minSize, 100 * live.length)));
  }

  pick(input: BalanceInput, eligible: (t: Target) => boolean): Target | undefined {
    const targets = this.#targets;
    const n = targets.length;
    if (n === 0) return undefined;
    const key = input.hashKey();
    if (key === undefined) return smoothPick(targets, eligible);
    const h = hash32(key);
    const table = this.#table;
    const size = table.length;
    let slot = h % size;
    for (let step = 0; step <= MAX_WALK; step++) {
      const t = targets[table[slot]!]!;
      if (eligible(t)) return t;
      slot = slot + 1 === size ? 0 : slot + 1;
    }
    // Most of the pool is out: a scan from a key-dependent start, deterministic as well.
    const start = h % n;
    for (let k = 0; k < n; k++) {
      const t = targets[(start + k) % n]!;
      if (eligible(t)) return t;
    }
    return undefined;
  }
}

/**
 * Fills a table of `size` slots (a prime, so every skip generates a full permutation). Each round, every target
 * adds its weight to a credit and claims its next free preferred slot for each whole `maxWeight` of credit: a
 * target of the largest weight claims one slot per round, one of a third of it every third round.
 */
function buildTable(targets: readonly Target[], size: number): Uint16Array | Uint32Array {
  const n = targets.length;
  const empty = n < 0xffff ? 0xffff : 0xffffffff;
  const table = n < 0xffff ? new Uint16Array(size) : new Uint32Array(size);
  table.fill(empty);
  const next = new Float64Array(n);
  const skip = new Float64Array(n);
  const credit = new Float64Array(n);
  let maxWeight = 0;
  for (let i = 0; i < n; i++) {
    const t = targets[i]!;
    next[i] = hash32(t.id, SEED_OFFSET) % size;
    skip[i] = (hash32(t.id, SEED_SKIP) % (size - 1)) + 1;
    maxWeight = Math.max(maxWeight, t.weight);
  }
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      credit[i]! += targets[i]!.weight;
      if (credit[i]! < maxWeight) continue;
      credit[i]! -= maxWeight;
      let c = next[i]!;
      while (table[c] !== empty) c = (c + skip[i]!) % size;
      table[c] = i;
      next[i] = (c + skip[i]!) % size;
      if (++filled === size) return table;
    }
  }
}

function nextPrime(n: number): number {
  let p = Math.max(2, Math.ceil(n));
  while (!isPrime(p)) p++;
  return p;
}

function isPrime(n: number): boolean {
  if (n < 4) return n >= 2;
  if (n % 2 === 0) return false;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}
