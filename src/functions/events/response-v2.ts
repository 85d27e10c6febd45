/**
 * Payload format 2.0 results (HTTP API Lambda integration). A JSON object with `statusCode` is a response
 * `{statusCode, headers?, cookies?, body?, isBase64Encoded?}` (other fields ignored). Any other valid JSON is the
 * body of a 200 application/json answer: a string as its text, anything else as the JSON the function returned.
 */
import { AnswerHeaders, answer, bodyText, decodeBase64, isPlainObject, malformed, parseResult, statusOf } from './response-parts.ts';
import type { Mapped } from './types.ts';

/** What HTTP APIs answer with when a response sets no Content-Type. */
const DEFAULT_TYPE = 'text/plain; charset=utf-8';

export function responseV2(result: Buffer): Mapped {
  const parsed = parseResult(result);
  if (!parsed.ok) return malformed(parsed.reason);
  const r = parsed.value;
  if (!isPlainObject(r) || !('statusCode' in r)) {
    const headers = new AnswerHeaders();
    headers.add('Content-Type', 'application/json');
    return answer(200, headers, typeof r === 'string' ? Buffer.from(r, 'utf8') : result);
  }
  const status = statusOf(r.statusCode);
  if (status === undefined) return malformed('statusCode is not an HTTP status');
  const headers = new AnswerHeaders();
  // Each cookie is its own Set-Cookie line; a set-cookie in `headers` is sent as the one line it is.
  headers.addMap(r.headers, 'headers');
  if (r.cookies !== undefined && r.cookies !== null) {
    if (!Array.isArray(r.cookies)) return malformed('cookies is not a list');
    for (const cookie of r.cookies) {
      if (typeof cookie !== 'string') return malformed('a cookie is not a string');
      headers.add('Set-Cookie', cookie);
    }
  }
  const text = bodyText(r.body);
  if (text === undefined) return malformed('body is not a string');
  let body: Buffer = Buffer.from(text, 'utf8');
  if (r.isBase64Encoded === true) {
    const decoded = decodeBase64(text);
    if (decoded === undefined) return malformed('isBase64Encoded is true but body is not base64');
    body = decoded;
  }
  if (!headers.has('content-type')) headers.add('Content-Type', DEFAULT_TYPE);
  return answer(status, headers, body);
}
