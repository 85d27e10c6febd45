import assert from 'node:assert/strict';
import http from 'node:http';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  status: number;
  contentType: string;
  text: string;
  samples: Sample[];
  /** `# TYPE` of each family. */
  types: Map<string, string>;
  /** The value of the one sample with this name and exactly these labels; undefined when absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Samples of a name whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/g;

/** Parses the Prometheus text format strictly enough that a malformed line fails the test. */
export function parseExposition(text: string): Pick<Scrape, 'samples' | 'types'> {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    const m = LINE.exec(line);
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    for (const l of rest.matchAll(LABEL)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      rest = rest.replace(l[0], '');
    }
    assert.equal(rest, '', `unparsed labels in ${line}`);
    // Prometheus reads values with Go's ParseFloat, which takes NaN in any case (prom-client writes `Nan`).
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : /^nan$/i.test(m[3]!) ? NaN : Number(m[3]);
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(m[3]!), `bad value in ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types };
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

export async function scrape(adminUrl: string, token?: string): Promise<Scrape> {
  const res = await fetch(`${adminUrl}/metrics`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  if (res.status !== 200) return { status: res.status, contentType, text, samples: [], types: new Map(), value: () => undefined, find: () => [] };
  const { samples, types } = parseExposition(text);
  return {
    status: res.status,
    contentType,
    text,
    samples,
    types,
    value(name, labels = {}) {
      const found = samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
      assert.ok(found.length <= 1, `${found.length} samples ${name} ${JSON.stringify(labels)}`);
      return found[0]?.value;
    },
    find(name, labels = {}) {
      return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    },
  };
}

/** Scrapes until `check` passes (health checks and the like change state in the background). */
export async function scrapeUntil(adminUrl: string, check: (s: Scrape) => boolean, what: string, timeoutMs = 5000): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await scrape(adminUrl);
    if (check(s)) return s;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}:\n${s.text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** Requests sent through `send` to each gateway (by origin), for `settle` to wait for. */
const sent = new Map<string, number>();

/** One request through the proxy; resolves with the status and body once the response is complete. */
export function send(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean } = {}): Promise<{ status: number; body: string }> {
  const url = new URL(path, base);
  sent.set(url.origin, (sent.get(url.origin) ?? 0) + 1);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined && !options.chunked) headers['content-length'] = Buffer.byteLength(options.body);
    const req = http.request(url, { method: options.method ?? 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Runs `count` requests, `concurrency` at a time. */
export async function sendMany(count: number, concurrency: number, one: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await one(next++);
  }));
}

/**
 * Metrics are recorded when the response closes, which can be just after the client has it all: waits until the
 * gateway has counted at least every request `send` sent it. With metrics disabled (404) there is nothing to wait
 * for but a turn of the event loop: the callers then assert that nothing was recorded.
 */
export async function settle(gw: { url: string; adminUrl: string | undefined }): Promise<void> {
  const origin = new URL(gw.url).origin;
  const expected = sent.get(origin) ?? 0;
  const deadline = Date.now() + 5000;
  for (;;) {
    const s = await scrape(gw.adminUrl!);
    if (s.status === 404) {
      // Disabled: what was sent until now is never counted, so a later settle waits only for later requests.
      sent.set(origin, 0);
      return new Promise((r) => setImmediate(r));
    }
    const counted = s.find('expeditor_http_requests_total').reduce((n, x) => n + x.value, 0);
    if (counted >= expected) return;
    if (Date.now() > deadline) assert.fail(`the gateway counted ${counted} of ${expected} requests`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
