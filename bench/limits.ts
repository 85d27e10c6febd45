// Rate-limit benchmark: what a limiter costs on the request path, local (in process) and shared through Redis,
// against the same route without one, with nginx proxying the same upstream in the same run.
//
//   npm run bench:limits
//   npx node bench/limits.ts --reps 5 --duration 5
//
// One Expeditor process (CPU 0) in front of the fixed nginx upstream (CPU 1, with wrk and a redis-server started
// here): /plain (no plugins), /local and /redis (rate-limit by client address with a limit no run can reach, so
// every request is checked and counted but none is refused: the numbers are the cost of the check, not of 429s).
// Targets (issue 5): the local limiter costs under 5% of throughput, the Redis limiter under 25%.
// See docs/benchmarks.md, "Rate limiting".

import { runBench } from './lib/lifecycle.ts';
import { VARIANT_USAGE, benchRedis, measure, testBed, withUsage, type Variant } from './lib/variants.ts';

const USAGE = `usage: node bench/limits.ts [options]\n${VARIANT_USAGE}`;

const limiter = (storage: 'local' | 'redis') => `{ rate-limit: { limits: [{ rate: 1000000/s, burst: 1000000000 }], by: ip, storage: ${storage} } }`;

runBench(() => withUsage(USAGE, async (opts) => {
  const bed = await testBed('limits', opts);
  const redisUrl = await benchRedis(bed, opts);
  const { base, proc } = await bed.expeditor(`redis: { url: "${redisUrl}" }
upstreams:
  bench: { targets: [{ url: "${bed.upstreamUrl}" }] }
routes:
  - { name: plain, match: { path: /plain }, upstream: bench }
  - { name: local, match: { path: /local }, upstream: bench, plugins: ${limiter('local')} }
  - { name: redis, match: { path: /redis }, upstream: bench, plugins: ${limiter('redis')} }
`);
  const at = (name: string, label: string, p: string): Variant => ({ name, label, url: `${base}${p}`, headers: [], proc });
  await measure([
    { ...bed.nginx, label: 'nginx (proxy, no limiter)' },
    at('plain', 'Expeditor, no limiter', '/plain'),
    at('local', 'Expeditor, local limiter', '/local'),
    at('redis', 'Expeditor, Redis limiter', '/redis'),
  ], opts, 'plain', 'Rate limiting (token bucket by client address)');
  return 0;
}));
