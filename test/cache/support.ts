import http from 'node:http';
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A GET (or another method) with exactly these headers: no client adds its own (fetch adds Cache-Control to conditional requests). */
export function request(base: string, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface Script {
  status?: number;
  headers?: Record<string, string | string[]>;
  body?: string;
  /** ms before the response headers. */
  delay?: number;
}

/**
 * An upstream whose answer per path is set by the test (`answer.set(path, …)`, or a function of the request), that
 * counts the requests it got per path and keeps their headers.
 */
export interface ScriptedUpstream extends TestUpstream {
  answer: Map<string, Script | ((req: http.IncomingMessage) => Script)>;
  count(path: string): number;
  last(path: string): http.IncomingHttpHeaders | undefined;
}

export async function scriptedUpstream(): Promise<ScriptedUpstream> {
  const answer = new Map<string, Script | ((req: http.IncomingMessage) => Script)>();
  const counts = new Map<string, number>();
  const lasts = new Map<string, http.IncomingHttpHeaders>();
  const up = await startUpstream((req, res) => {
    const path = req.url!.split('?')[0]!;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    lasts.set(path, req.headers);
    const a = answer.get(path);
    const s = typeof a === 'function' ? a(req) : a ?? { status: 404, body: 'no script' };
    const send = () => {
      res.writeHead(s.status ?? 200, { 'content-type': 'text/plain', ...s.headers });
      res.end(s.status === 304 ? undefined : s.body ?? `body of ${req.url}`);
    };
    req.resume();
    if (s.delay) setTimeout(send, s.delay);
    else send();
  });
  return Object.assign(up, {
    answer,
    count: (path: string) => counts.get(path) ?? 0,
    last: (path: string) => lasts.get(path),
  });
}

/** A gateway with one upstream and routes (default: everything under / cached with `cache` config). */
export async function cachedGateway(upstreamUrl: string, cache: Record<string, unknown> = {}, extra: Record<string, unknown> = {}, routeExtra: Record<string, unknown> = {}): Promise<TestGateway> {
  return startGateway({
    upstreams: { up: { targets: [{ url: upstreamUrl }] } },
    routes: [{ name: 'cached', match: { path: '/*' }, upstream: 'up', plugins: { cache }, ...routeExtra }],
    ...extra,
  });
}

/** An HTTP date `seconds` from now. */
export function httpDate(seconds = 0): string {
  return new Date(Date.now() + seconds * 1000).toUTCString();
}
