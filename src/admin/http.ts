import type http from 'node:http';
import { PROBLEM_CONTENT_TYPE } from '../core/pipeline.ts';

/** The admin API's HTTP plumbing: bodies, payloads, and its small `METHOD /path/:param` router. */

/** Largest request body: a config file, with room to spare. */
export const ADMIN_MAX_BODY = 5 * 1024 * 1024;

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > ADMIN_MAX_BODY) {
        req.pause();
        reject(new Error('too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}


/** A payload sent as it is, not as JSON. */
export class TextBody {
  readonly text: string;
  readonly type: string;
  constructor(text: string, type: string) {
    this.text = text;
    this.type = type;
  }
}

export function send(res: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) {
  const text = payload instanceof TextBody ? payload : undefined;
  const body = text !== undefined ? text.text : JSON.stringify(payload);
  const type = text !== undefined ? text.type : status >= 400 ? PROBLEM_CONTENT_TYPE : 'application/json';
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** The query string of a request target, without the `?` ('' when there is none). */
export function queryOf(url: string | undefined): string {
  const at = url === undefined ? -1 : url.indexOf('?');
  return at === -1 ? '' : url!.slice(at + 1);
}

/** Matches `METHOD /path` against endpoint keys with `:param` segments. */
export function findEndpoint(keys: readonly string[], wanted: string): { key: string; params: Record<string, string> } | undefined {
  const w = wanted.split('/');
  for (const key of keys) {
    const k = key.split('/');
    if (k.length !== w.length || k[0] !== w[0]) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 1; i < k.length && ok; i++) {
      if (k[i]!.startsWith(':')) {
        try {
          params[k[i]!.slice(1)] = decodeURIComponent(w[i]!);
        } catch {
          ok = false;
        }
        ok &&= w[i] !== '';
      } else ok = k[i] === w[i];
    }
    if (ok) return { key, params };
  }
  return undefined;
}
