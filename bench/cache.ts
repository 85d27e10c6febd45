// Cache hits: what a stored response costs to serve, Expeditor's memory, Redis and tiered stores side by side
// with NGINX's proxy_cache serving the same hit and nginx as a plain proxy, in the same run (issue 6's target:
// memory hits at least as fast as NGINX's proxy_cache hits per core).
//
//   npm run bench:cache [-- --reps 5 --duration 5]
//
// One Expeditor process (proxy CPU) with a route per store; the fixed nginx upstream answers without Cache-Control,
// so the routes store with `defaultTtl` and nginx with `proxy_cache_valid`: every measured request is a hit.

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runBench } from './lib/lifecycle.ts';
import { nginxArgs, nginxConf } from './lib/nginx.ts';
import { freePort, makeTempDir, start } from './lib/procs.ts';
import { VARIANT_USAGE, benchRedis, measure, testBed, withUsage, type Variant } from './lib/variants.ts';

const USAGE = `usage: node bench/cache.ts [options]\n${VARIANT_USAGE}`;

const cached = (store: string) => `{ cache: { store: ${store}, defaultTtl: 1h } }`;

runBench(() => withUsage(USAGE, async (opts) => {
  const bed = await testBed('cache', opts);
  const redisUrl = await benchRedis(bed, opts);

  const cacheDir = path.join(bed.dir, 'nginx-cache');
  mkdirSync(cacheDir);
  // nginx's workers drop root for `nobody`: the store lives where they may write.
  const store = makeTempDir('expeditor-bench-nginx-cache-');
  chmodSync(store, 0o777);
  const cachePort = await freePort();
  const upstreamPort = new URL(bed.upstreamUrl).port;
  writeFileSync(path.join(cacheDir, 'nginx.conf'), nginxConf(cacheDir, `  proxy_cache_path ${store} levels=1:2 keys_zone=bench:10m max_size=100m inactive=1h use_temp_path=off;
  upstream bench {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${cachePort};
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_valid 200 1h;
      add_header X-Cache-Status $upstream_cache_status;
    }
  }
`));
  const nginxCache = start('nginx-cache', 'nginx', nginxArgs(cacheDir, path.join(cacheDir, 'nginx.conf')), { cpu: opts.proxyCpu, logFile: path.join(bed.dir, 'nginx-cache.log') });

  const { base, proc } = await bed.expeditor(`redis: { url: "${redisUrl}" }
upstreams:
  bench: { targets: [{ url: "${bed.upstreamUrl}" }] }
routes:
  - { name: plain, match: { path: /plain }, upstream: bench }
  - { name: memory, match: { path: /memory }, upstream: bench, plugins: ${cached('memory')} }
  - { name: redis, match: { path: /redis }, upstream: bench, plugins: ${cached('redis')} }
  - { name: tiered, match: { path: /tiered }, upstream: bench, plugins: ${cached('tiered')} }
`);
  const at = (name: string, label: string, p: string): Variant => ({ name, label, url: `${base}${p}`, headers: [], proc });
  await measure([
    { ...bed.nginx, label: 'nginx (proxy, no cache)' },
    { name: 'nginx-cache', label: 'nginx proxy_cache (hit)', url: `http://127.0.0.1:${cachePort}/cached`, headers: [], proc: nginxCache },
    at('plain', 'Expeditor, no cache', '/plain'),
    at('memory', 'Expeditor cache, memory (hit)', '/memory'),
    at('redis', 'Expeditor cache, Redis (hit)', '/redis'),
    at('tiered', 'Expeditor cache, tiered (hit)', '/tiered'),
  ], opts, 'nginx-cache', 'Cache hits (a ~100-byte JSON response, stored; every measured request is a hit)');
  return 0;
}));
