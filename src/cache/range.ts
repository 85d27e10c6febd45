import { parseEntityTag, strongMatch } from './conditional.ts';
import { dateHeader, firstValue, headerValue, parseHttpDate, type Headers } from './header-fields.ts';

/**
 * Range requests answered from a stored complete (200) response (RFC 9110 §14). Only byte ranges; a server may
 * always ignore Range and send the whole representation (§14.2), which is what every doubtful case does here.
 *
 * - `full`: serve the whole stored response (200). Also for a non-GET method, no or an invalid Range, another
 *   range unit, a failed If-Range, an empty representation, or more than MAX_RANGES ranges.
 * - `partial`: serve bytes start..end inclusive with 206 and `Content-Range: contentRange(start, end, size)`.
 * - `unsatisfiable`: 416 with `Content-Range: unsatisfiedRange(size)`.
 * - `multi`: several disjoint ranges remain after merging overlapping and adjacent ones. Expeditor does not build
 *   multipart/byteranges: the caller serves the full stored response (200), as §14.2 allows.
 */
export type RangeAnswer =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' }
  | { kind: 'multi' };

/** More ranges than this in one header is abuse (RFC 9110 §14.2 security note): the whole response is sent. */
export const MAX_RANGES = 100;

/** An If-Range date is a strong validator only when the stored Date is this much later than Last-Modified (§8.8.2.2). */
const STRONG_DATE_MS = 60_000;

const FULL: RangeAnswer = { kind: 'full' };

export function rangeFor(method: string, reqHeaders: Headers, stored: Headers, size: number): RangeAnswer {
  const range = headerValue(reqHeaders, 'range');
  if (method !== 'GET' || range === undefined || size <= 0) return FULL;
  if (!ifRangeHolds(headerValue(reqHeaders, 'if-range'), stored)) return FULL;
  const m = /^\s*bytes\s*=(.*)$/i.exec(range);
  if (m === null) return FULL;
  const specs = m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length === 0 || specs.length > MAX_RANGES) return FULL;
  const satisfiable: Array<[number, number]> = [];
  for (const spec of specs) {
    const r = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
    if (r === null || (r[1] === '' && r[2] === '')) return FULL;
    if (r[1] === '') {
      const suffix = Number(r[2]);
      if (suffix > 0) satisfiable.push([Math.max(0, size - suffix), size - 1]);
      continue;
    }
    const first = Number(r[1]);
    const last = r[2] === '' ? Infinity : Number(r[2]);
    if (last < first) return FULL; // an invalid range-spec makes the whole header invalid (§14.1.1)
    if (first < size) satisfiable.push([first, Math.min(last, size - 1)]);
  }
  if (satisfiable.length === 0) return { kind: 'unsatisfiable' };
  const merged = coalesce(satisfiable);
  return merged.length === 1 ? { kind: 'partial', start: merged[0]![0], end: merged[0]![1] } : { kind: 'multi' };
}

/** Overlapping or adjacent ranges merged (§14.2 lets a server coalesce them). */
function coalesce(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [[...sorted[0]!]];
  for (const [start, end] of sorted.slice(1)) {
    const last = out[out.length - 1]!;
    if (start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

/**
 * If-Range (RFC 9110 §13.1.5): absent holds; an entity-tag holds on a strong match with the stored ETag (a weak
 * tag never does); an HTTP-date holds when it equals the stored Last-Modified exactly and that Last-Modified is
 * strong (the stored Date at least 60 s later, §8.8.2.2). Anything else fails: send the whole response.
 */
function ifRangeHolds(ifRange: string | undefined, stored: Headers): boolean {
  if (ifRange === undefined) return true;
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith('W/"')) {
    const etag = firstValue(stored, 'etag');
    return etag !== undefined && strongMatch(parseEntityTag(v), parseEntityTag(etag));
  }
  const date = parseHttpDate(v);
  const lastModified = dateHeader(stored, 'last-modified');
  const storedDate = dateHeader(stored, 'date');
  if (date === undefined || lastModified === undefined || storedDate === undefined) return false;
  return date === lastModified && storedDate - lastModified >= STRONG_DATE_MS;
}

/** The Content-Range of a 206 (§14.4): `bytes start-end/size`. */
export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}

/** The Content-Range of a 416 (§14.4): `bytes *\/size`. */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}
