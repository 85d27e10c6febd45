import type { BalanceInput, Balancer, Target } from '../target.ts';

/**
 * Fewest requests in flight relative to weight (`inflight / weight`): a target of weight 3 is as loaded with
 * three requests as a target of weight 1 with one. Ties, the usual case on a quiet upstream where everything is
 * at zero, are broken by smooth weighted round-robin among the tied targets (state in `currentWeight`), so equal
 * targets take turns and an idle pool is still shared by weight instead of always going to the first target.
 */
export class LeastRequestsBalancer implements Balancer {
  readonly name = 'least-requests';
  #targets: readonly Target[] = [];
  /** Indices of the targets tied at the lowest load during a pick; sized at update so pick allocates nothing. */
  #tied = new Int32Array(0);

  update(targets: readonly Target[]): void {
    this.#targets = targets.slice();
    this.#tied = new Int32Array(targets.length);
  }

  pick(_input: BalanceInput, eligible: (t: Target) => boolean): Target | undefined {
    const targets = this.#targets;
    const tied = this.#tied;
    let count = 0;
    // Lowest load so far as the fraction inflight/weight, compared by cross-multiplying: exact for integers.
    let minInflight = 0;
    let minWeight = 0;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      if (t.weight <= 0 || !eligible(t)) continue;
      if (count === 0) {
        minInflight = t.inflight;
        minWeight = t.weight;
        tied[count++] = i;
        continue;
      }
      const lhs = t.inflight * minWeight;
      const rhs = minInflight * t.weight;
      if (lhs < rhs) {
        minInflight = t.inflight;
        minWeight = t.weight;
        count = 0;
        tied[count++] = i;
      } else if (lhs === rhs) {
        tied[count++] = i;
      }
    }
    if (count === 0) return undefined;
    if (count === 1) return targets[tied[0]!];
    let best: Target | undefined;
    let total = 0;
    for (let k = 0; k < count; k++) {
      const t = targets[tied[k]!]!;
      t.currentWeight += t.weight;
      total += t.weight;
      if (best === undefined || t.currentWeight > best.currentWeight) best = t;
    }
    best!.currentWeight -= total;
    return best;
  }
}
