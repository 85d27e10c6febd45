// Functions through the gateway: a route served by a Lambda-compatible handler on the built-in runtime, against the
// same logic as a plain HTTP upstream (a Node server answering the same body), and nginx as a proxy for reference,
// in the same run (issue 7: warm-invoke requests/s and p99). Cold starts and the runtime's own overhead are measured
// in process by bench/function-invoke.ts (`npm run bench:functions`).
//
//   npx node bench/functions.ts [--reps 3 --duration 5 --connections 10]
//
// The function has reservedConcurrency 1 (one sandbox, like one Node upstream process): what one warm sandbox
// serves through the gateway. Both are checked to answer the bench body, warmed up, then measured in turns.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runBench } from './lib/lifecycle.ts';
import { UPSTREAM_BODY } from './lib/nginx.ts';
import { freePort, start } from './lib/procs.ts';
import { VARIANT_USAGE, measure, testBed, waitFor, withUsage, type Variant } from './lib/variants.ts';

const USAGE = `usage: node bench/functions.ts [options]\n${VARIANT_USAGE}`;

runBench(() => withUsage(USAGE, async (opts) => {
  const bed = await testBed('functions', opts);
  const body = JSON.stringify(UPSTREAM_BODY);
  writeFileSync(path.join(bed.dir, 'handler.mjs'), `export const handler = async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: ${body} });\n`);
  const nodePort = await freePort();
  writeFileSync(path.join(bed.dir, 'upstream.mjs'), `import http from 'node:http';
http.createServer((req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'application/json' }); res.end(${body}); }).listen(${nodePort}, '127.0.0.1');
`);
  const nodeUpstream = start('node-upstream', process.execPath, [path.join(bed.dir, 'upstream.mjs')], { cpu: opts.loadCpu, logFile: path.join(bed.dir, 'node-upstream.log') });
  await waitFor(`http://127.0.0.1:${nodePort}/`, [], nodeUpstream);
  const { base, proc } = await bed.expeditor(`upstreams:
  node: { targets: [{ url: "http://127.0.0.1:${nodePort}" }] }
functions:
  hello: { handler: handler.handler, codeDir: "${bed.dir}", reservedConcurrency: 1, queue: { maxSize: 1000 } }
routes:
  - { name: upstream, match: { path: /upstream }, upstream: node }
  - { name: fn-v2, match: { path: /fn-v2 }, function: { name: hello } }
  - { name: fn-v1, match: { path: /fn-v1 }, function: { name: hello, payloadFormat: "1.0" } }
`);
  const at = (name: string, label: string, p: string): Variant => ({ name, label, url: `${base}${p}`, headers: [], proc });
  await measure([
    { ...bed.nginx, label: 'nginx (proxy to nginx)' },
    at('upstream', 'Expeditor → Node HTTP upstream', '/upstream'),
    at('fn-v2', 'Expeditor → function, payload 2.0', '/fn-v2'),
    at('fn-v1', 'Expeditor → function, payload 1.0', '/fn-v1'),
  ], opts, 'upstream', 'Functions: a warm handler vs the same answer from a Node HTTP upstream');
  return 0;
}));
