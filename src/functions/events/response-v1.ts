/**
 * Payload format 1.0 results (REST API Lambda proxy integration): `{statusCode, headers?, multiValueHeaders?, body?,
 * isBase64Encoded?}` and nothing else. API Gateway assumes nothing: no statusCode, an unknown field (`cookies`
 * included), a non-string body or a multiValueHeaders entry that is not a list make the result malformed.
 */
import { firstAcceptType, mediaTypeMatches } from './media-types.ts';
import { AnswerHeaders, answer, bodyText, decodeBase64, isPlainObject, malformed, parseResult, statusOf } from './response-parts.ts';
import type { Mapped } from './types.ts';

const FIELDS: ReadonlySet<string> = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded']);

/**
 * Maps a 1.0 result to the HTTP answer. A name in both `headers` and `multiValueHeaders` takes the multi-value list
 * only, as AWS merges them. A base64 body is decoded only when the first Accept type matches `binaryMediaTypes`;
 * otherwise the client gets the base64 text, as from API Gateway. Without a Content-Type the answer is application/json.
 */
export function responseV1(result: Buffer, accept: string | undefined, binaryMediaTypes: readonly string[]): Mapped {
  const parsed = parseResult(result);
  if (!parsed.ok) return malformed(parsed.reason);
  const r = parsed.value;
  if (!isPlainObject(r)) return malformed('the result is not a JSON object');
  for (const key of Object.keys(r)) if (!FIELDS.has(key)) return malformed(`unknown field ${JSON.stringify(key)} in a 1.0 result`);
  if (r.statusCode === undefined) return malformed('the result has no statusCode');
  const status = statusOf(r.statusCode);
  if (status === undefined) return malformed('statusCode is not an HTTP status');
  const multi = r.multiValueHeaders;
  if (multi !== undefined && multi !== null && !isPlainObject(multi)) return malformed('multiValueHeaders is not an object');
  const multiNames = new Set(multi ? Object.keys(multi).map((n) => n.toLowerCase()) : []);
  const headers = new AnswerHeaders();
  headers.addMap(r.headers, 'headers', (lower) => multiNames.has(lower));
  if (multi) {
    for (const [name, values] of Object.entries(multi)) {
      if (values === null) continue;
      if (!Array.isArray(values)) return malformed(`multiValueHeaders.${name} is not a list`);
      for (const value of values) headers.add(name, value);
    }
  }
  if (r.isBase64Encoded !== undefined && r.isBase64Encoded !== null && typeof r.isBase64Encoded !== 'boolean') {
    return malformed('isBase64Encoded is not a boolean');
  }
  const text = bodyText(r.body);
  if (text === undefined) return malformed('body is not a string');
  let body: Buffer = Buffer.from(text, 'utf8');
  if (r.isBase64Encoded === true && mediaTypeMatches(firstAcceptType(accept), binaryMediaTypes)) {
    const decoded = decodeBase64(text);
    if (decoded === undefined) return malformed('isBase64Encoded is true but body is not base64');
    body = decoded;
  }
  if (!headers.has('content-type')) headers.add('Content-Type', 'application/json');
  return answer(status, headers, body);
}
