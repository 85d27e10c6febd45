// Authentication benchmark: what key-auth and JWT (RS256, ES256) cost against the plain proxy path, with nginx
// proxying the same upstream in the same run (ratios, not absolute numbers, are what compare across machines).
//
//   npm run bench:auth
//   npx node bench/auth.ts --reps 5 --duration 5 --connections 50 --json out.json
//   npx node bench/auth.ts --help
//
// ONE Expeditor process (pinned to CPU 0) serves four routes in front of a fixed nginx upstream (CPU 1, with wrk):
// /plain (no plugins), /key (key-auth, 100 consumers), /rs256 and /es256 (jwt with an inline public key, tokens
// mapped to one of 100 consumers), and the same two without the verified-token cache (every request verifies). nginx as a reverse proxy (CPU 0 while it is measured) gives the reference. Each
// variant is checked with one request (200 with the upstream's body), warmed up, then measured N times, the
// variants taking turns in every repetition so that drift on a noisy machine hits them alike; medians are reported.
// See docs/benchmarks.md, "Authentication".

import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { runBench } from './lib/lifecycle.ts';
import { VARIANT_USAGE, measure, statusOf, testBed, waitFor, withUsage, type Variant } from './lib/variants.ts';

const CONSUMERS = 100;
const USAGE = `usage: node bench/auth.ts [options]\n${VARIANT_USAGE}`;

/** Consumers with one API key each and a `token` credential; returns the config text and one key and two tokens. */
async function credentials() {
  const rs = await generateKeyPair('RS256');
  const es = await generateKeyPair('ES256');
  const keys: string[] = [];
  const consumers: string[] = [];
  for (let i = 0; i < CONSUMERS; i++) {
    const key = `exp_${randomBytes(32).toString('base64url')}`;
    keys.push(key);
    const hash = createHash('sha256').update(key).digest('hex');
    consumers.push(`  app-${i}:\n    groups: [bench]\n    credentials:\n      - { type: key-auth, keyHash: "sha256:${hash}" }\n      - { type: token, subject: "app-${i}" }`);
  }
  const sign = (alg: string, key: Parameters<SignJWT['sign']>[0]) => new SignJWT({ scope: 'read' })
    .setProtectedHeader({ alg, kid: `${alg.toLowerCase()}-1` })
    .setIssuer('https://id.bench.test').setSubject('app-42').setAudience('bench')
    .setIssuedAt().setExpirationTime('2h')
    .sign(key);
  return {
    consumers: consumers.join('\n'),
    key: keys[42]!,
    rsPem: await exportSPKI(rs.publicKey),
    esPem: await exportSPKI(es.publicKey),
    rsToken: await sign('RS256', rs.privateKey),
    esToken: await sign('ES256', es.privateKey),
  };
}

function indent(text: string, spaces: number): string {
  return text.trim().split('\n').map((l) => ' '.repeat(spaces) + l).join('\n');
}

function jwtRoute(name: string, alg: string, pem: string, cache = true): string {
  return `  - name: ${name}
    match: { path: /${name} }
    upstream: bench
    plugins:
      jwt:${cache ? '' : '\n        verifiedCache: { ttl: 0 }'}
        issuers:
          - issuer: https://id.bench.test
            algorithms: [${alg}]
            audiences: [bench]
            keys:
              - publicKey: |
${indent(pem, 18)}`;
}

runBench(() => withUsage(USAGE, async (opts) => {
  const bed = await testBed('auth', opts);
  const c = await credentials();
  const { base, proc } = await bed.expeditor(`upstreams:
  bench: { targets: [{ url: "${bed.upstreamUrl}" }] }
consumers:
${c.consumers}
routes:
  - name: plain
    match: { path: /plain }
    upstream: bench
  - name: key
    match: { path: /key }
    upstream: bench
    plugins: { key-auth: {} }
${jwtRoute('rs256', 'RS256', c.rsPem)}
${jwtRoute('es256', 'ES256', c.esPem)}
${jwtRoute('rs256-verify', 'RS256', c.rsPem, false)}
${jwtRoute('es256-verify', 'ES256', c.esPem, false)}
`);
  const at = (name: string, label: string, p: string, headers: string[] = []): Variant => ({ name, label, url: `${base}${p}`, headers, proc });
  const variants: Variant[] = [
    { ...bed.nginx, label: 'nginx (proxy, no auth)' },
    at('plain', 'Expeditor, no auth', '/plain'),
    at('key-auth', 'Expeditor, key-auth', '/key', [`apikey: ${c.key}`]),
    at('jwt-rs256', 'Expeditor, jwt RS256', '/rs256', [`Authorization: Bearer ${c.rsToken}`]),
    at('jwt-es256', 'Expeditor, jwt ES256', '/es256', [`Authorization: Bearer ${c.esToken}`]),
    // The same without the verified-token cache: every request pays the signature check.
    at('jwt-rs256-verify', 'Expeditor, jwt RS256, no cache', '/rs256-verify', [`Authorization: Bearer ${c.rsToken}`]),
    at('jwt-es256-verify', 'Expeditor, jwt ES256, no cache', '/es256-verify', [`Authorization: Bearer ${c.esToken}`]),
  ];
  // A wrong credential must be refused, or the numbers would measure nothing.
  await waitFor(`${base}/plain`, [], proc);
  for (const v of variants.slice(2)) {
    const status = await statusOf(v.url, ['apikey: exp_wrong', 'Authorization: Bearer x.y.z']);
    if (status !== 401) throw new Error(`${v.name}: a wrong credential got ${status}, expected 401`);
  }
  await measure(variants, opts, 'plain', `Authentication, ${CONSUMERS} consumers`);
  return 0;
}));
