/**
 * Pieces shared by the 1.0 and 2.0 response mappings: parsing the result, checking the status, collecting headers
 * (framing and hop-by-hop ones dropped, Content-Length computed here) and decoding a base64 body.
 */
import { HOP_BY_HOP } from '../../upstream/headers.ts';
import type { HttpAnswer, Mapped } from './types.ts';

export type Parsed = { ok: true; value: unknown } | { ok: false; reason: string };

export function parseResult(result: Buffer): Parsed {
  try {
    return { ok: true, value: JSON.parse(result.toString('utf8')) };
  } catch {
    return { ok: false, reason: 'the result is not JSON' };
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function malformed(reason: string): Mapped {
  return { ok: false, reason };
}

/** `statusCode` as a number or a string of digits (API Gateway takes both), 100–599; undefined when invalid. */
export function statusOf(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// What Node's http module accepts in a header value: no CR, LF or other control characters besides tab.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The headers of an answer under construction. The function's Content-Length and hop-by-hop headers are dropped:
 * the gateway frames the body itself. An invalid name or value makes the result malformed rather than crash the
 * response later.
 */
export class AnswerHeaders {
  readonly list: Array<[string, string]> = [];
  error: string | undefined = undefined;

  has(lower: string): boolean {
    return this.list.some(([name]) => name.toLowerCase() === lower);
  }

  /** Adds one header line; `value` may be a string, number or boolean (null and undefined are skipped). */
  add(name: string, value: unknown): void {
    if (value === null || value === undefined) return;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      this.error ??= `the value of header ${JSON.stringify(name)} is not a string`;
      return;
    }
    const text = String(value);
    if (!TOKEN.test(name)) this.error ??= `${JSON.stringify(name)} is not a valid header name`;
    else if (!FIELD_VALUE.test(text)) this.error ??= `the value of header ${name} has characters not allowed in a header`;
    else {
      const lower = name.toLowerCase();
      if (lower !== 'content-length' && !HOP_BY_HOP.has(lower)) this.list.push([name, text]);
    }
  }

  /** Adds every entry of a `{name: value}` map; anything but an object there is malformed. */
  addMap(map: unknown, field: string, skip?: (lower: string) => boolean): void {
    if (map === undefined || map === null) return;
    if (!isPlainObject(map)) {
      this.error ??= `${field} is not an object`;
      return;
    }
    for (const [name, value] of Object.entries(map)) if (skip === undefined || !skip(name.toLowerCase())) this.add(name, value);
  }
}

/** The answer, with the Content-Length the gateway computed (none where HTTP forbids one). */
export function answer(status: number, headers: AnswerHeaders, body: Buffer): Mapped {
  if (headers.error !== undefined) return malformed(headers.error);
  const noBody = status < 200 || status === 204 || status === 304;
  if (!noBody) headers.list.push(['content-length', String(body.length)]);
  const result: HttpAnswer = { status, headers: headers.list, body: noBody ? Buffer.alloc(0) : body };
  return { ok: true, answer: result };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (standard alphabet, padding optional, whitespace ignored); undefined when the text is not base64. */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (!BASE64.test(compact) || compact.length % 4 === 1) return undefined;
  return Buffer.from(compact, 'base64');
}

/** The `body` field: a string, or absent/null for an empty body; anything else is malformed (undefined). */
export function bodyText(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : undefined;
}
