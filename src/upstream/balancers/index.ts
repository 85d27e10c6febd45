import type { Balancer } from '../target.ts';
import type { UpstreamConfigT } from '../../config/schema/index.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import { LeastRequestsBalancer } from './least-requests.ts';
import { EwmaBalancer } from './ewma.ts';
import { ConsistentHashBalancer } from './consistent-hash.ts';

export { RoundRobinBalancer } from './round-robin.ts';
export { LeastRequestsBalancer } from './least-requests.ts';
export { EwmaBalancer, type EwmaOptions } from './ewma.ts';
export { ConsistentHashBalancer, type ConsistentHashOptions } from './consistent-hash.ts';

export type BalancerKind = UpstreamConfigT['balancer'];

/**
 * The balancer of an upstream, by its config name. Each instance keeps state in its targets (`currentWeight`):
 * give a set of targets to one balancer only.
 */
export function createBalancer(kind: BalancerKind): Balancer {
  switch (kind) {
    case 'round-robin':
      return new RoundRobinBalancer();
    case 'least-requests':
      return new LeastRequestsBalancer();
    case 'ewma':
      return new EwmaBalancer();
    case 'consistent-hash':
      return new ConsistentHashBalancer();
    default: {
      const never: never = kind;
      throw new Error(`unknown balancer ${String(never)}`);
    }
  }
}
