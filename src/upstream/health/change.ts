import type { Logger } from '../../core/logger.ts';
import type { Target } from '../target.ts';

/**
 * Told when health checking changes a target's state: `healthy` false when it is taken out (active check failed,
 * or passive detection ejected it), true when it is back. Called once per change, synchronously, after the Target
 * fields are updated and the change is logged. A listener that throws is logged and otherwise ignored: it cannot
 * stop the checker.
 */
export type HealthChangeListener = (target: Target, healthy: boolean, reason: string) => void;

export function notifyChange(
  listener: HealthChangeListener | undefined, logger: Logger, upstream: string, target: Target, healthy: boolean, reason: string,
): void {
  if (listener === undefined) return;
  try {
    listener(target, healthy, reason);
  } catch (err) {
    logger.error('health change listener failed', { upstream, target: target.id, err });
  }
}
