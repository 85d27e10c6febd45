// Readiness check: one plain GET through a proxy must return the upstream's JSON.

import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import type { Managed } from './procs.ts';

export interface ProbeOk {
  ok: true;
  status: number;
  contentType: string;
  body: string;
  ms: number;
}
export interface ProbeFail {
  ok: false;
  reason: string;
}

function getOnce(url: string, timeoutMs: number): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function check(r: { status: number; body: string }, expected: unknown): string | null {
  if (r.status !== 200) return `status ${r.status}, body ${JSON.stringify(r.body.slice(0, 200))}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.body);
  } catch {
    return `body is not JSON: ${JSON.stringify(r.body.slice(0, 200))}`;
  }
  if (!isDeepStrictEqual(parsed, expected)) return `unexpected JSON: ${r.body.slice(0, 200)}`;
  return null;
}

/**
 * Polls `url` until it answers 200 with the expected JSON, the process exits, or `timeoutMs`
 * passes. A wrong answer is retried too (a gateway may answer 502 until its pool is warm) and
 * reported if it is still wrong at the deadline.
 */
export async function waitReady(
  url: string,
  expectedBody: string,
  proc: Managed | null,
  timeoutMs: number,
): Promise<ProbeOk | ProbeFail> {
  const expected: unknown = JSON.parse(expectedBody);
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    if (proc && proc.exitInfo !== null) return { ok: false, reason: `process ${proc.exitInfo} before it was ready` };
    const t0 = performance.now();
    try {
      const r = await getOnce(url, 2000);
      const ms = performance.now() - t0;
      const problem = check(r, expected);
      if (problem === null) return { ok: true, ...r, ms };
      last = problem;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return { ok: false, reason: `not ready after ${timeoutMs} ms (last: ${last})` };
}
