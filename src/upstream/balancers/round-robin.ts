import type { BalanceInput, Balancer, Target } from '../target.ts';

/**
 * One step of smooth weighted round-robin (nginx's algorithm) over the targets that are eligible: each adds its
 * weight to its `currentWeight`, the largest wins and gives back the sum of the weights that took part. Over any
 * run of picks each target's share follows its weight, and picks of a heavy target are interleaved with the
 * others rather than bunched. An ineligible target is skipped without touching its state, so its share goes to
 * the others in proportion to their weights and its place in the sequence is kept for when it returns.
 * Targets of weight 0 take no share. Returns undefined when no target is eligible.
 */
export function smoothPick(targets: readonly Target[], eligible: (t: Target) => boolean): Target | undefined {
  let best: Target | undefined;
  let total = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    if (t.weight <= 0 || !eligible(t)) continue;
    t.currentWeight += t.weight;
    total += t.weight;
    if (best === undefined || t.currentWeight > best.currentWeight) best = t;
  }
  if (best !== undefined) best.currentWeight -= total;
  return best;
}

/**
 * Smooth weighted round-robin. Its state lives in each target's `currentWeight`, which survives reloads and
 * membership changes (a target that stays keeps its place in the sequence).
 */
export class RoundRobinBalancer implements Balancer {
  readonly name = 'round-robin';
  #targets: readonly Target[] = [];

  update(targets: readonly Target[]): void {
    this.#targets = targets.slice();
  }

  pick(_input: BalanceInput, eligible: (t: Target) => boolean): Target | undefined {
    return smoothPick(this.#targets, eligible);
  }
}
