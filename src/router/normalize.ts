/**
 * Request-target normalisation: the one place where the gateway decides what path a request is for.
 *
 * The normalised path is used both to pick a route and as the path forwarded upstream. Doing both with the
 * same string is the point: if routing and the upstream could read a path differently (`/public/..%2fadmin`,
 * `//admin`, `/a/%2e%2e/admin`), a client could pass a route's auth as one path and be served as another.
 * So everything that could be read two ways is either made canonical here or rejected.
 *
 * This runs once per request, so the common case (a plain path) is a single `charCodeAt` scan that returns
 * the caller's own string; all allocation is kept to the slow path.
 */

/**
 * What to do with empty segments (`//`). Runs of slashes are not equivalent under RFC 3986, but many
 * upstreams (and filesystems behind them) collapse them, so the choice is the operator's: `merge` makes
 * `//admin` the same as `/admin` for routing and forwarding (the safe default), `reject` answers 400,
 * `keep` routes and forwards them as sent — only for upstreams where `//` is meaningful.
 */
export type DuplicateSlashes = 'merge' | 'reject' | 'keep';

/**
 * What to do with `%2F` / `%5C`. They are never decoded into separators whatever this says: decoding them
 * would let `..%2f` smuggle a dot-segment past routing. `reject` exists for upstreams that decode them
 * themselves, where forwarding them at all would split a segment the gateway routed as one.
 */
export type EscapedSlashes = 'keep' | 'reject';

/** Mirrors `server.paths` in the config schema, so config can be passed straight through. */
export interface NormalizeOptions { duplicateSlashes: DuplicateSlashes; escapedSlashes: EscapedSlashes }

/**
 * Result: either the normalised path and the raw query, or an error reason.
 *
 * A result rather than an exception because a bad target is ordinary hostile traffic, not a bug: the caller
 * answers 400 `invalid_path` and may put `reason` in the problem detail. `reason` is a fixed sentence that
 * never echoes the target, so it is safe to log and to return to the client.
 *
 * `query` is everything after the first `?`, untouched: the router never looks at it, and re-encoding it
 * could change what the upstream's own parser sees. `/a?` and `/a` both give `query: ''` — an empty query
 * carries no parameters, so the gateway does not keep a flag just to forward a bare `?`.
 */
export type Normalized = { ok: true; path: string; query: string } | { ok: false; reason: string };

const SLASH = 0x2f;
const DOT = 0x2e;
const QMARK = 0x3f;

const REASON_NOT_ORIGIN_FORM = 'request-target must be in origin-form (start with "/")';
const REASON_BAD_BYTE = 'request-target contains a control character, space or non-ASCII byte';
const REASON_FRAGMENT = 'request-target contains "#"';
const REASON_BACKSLASH = 'path contains a backslash';
const REASON_BAD_ESCAPE = 'path contains a malformed percent-escape';
const REASON_ESCAPED_SLASH = 'path contains an encoded slash or backslash (%2F or %5C)';
const REASON_DUPLICATE_SLASH = 'path contains an empty segment ("//")';

// Character classes for path bytes 0x00-0x7F (everything above 0x7E is REASON_BAD_BYTE).
const C_PLAIN = 0;
const C_BAD = 1;
const C_HASH = 2;
const C_BACKSLASH = 3;
const C_PERCENT = 4;
const C_SLASH = 5;
const C_DOT = 6;
const C_QMARK = 7;

const CLASS = new Uint8Array(128);
for (let c = 0; c < 0x21; c++) CLASS[c] = C_BAD; // controls and space
CLASS[0x7f] = C_BAD;
CLASS[0x23] = C_HASH;
CLASS[0x5c] = C_BACKSLASH;
CLASS[0x25] = C_PERCENT;
CLASS[SLASH] = C_SLASH;
CLASS[DOT] = C_DOT;
CLASS[QMARK] = C_QMARK;

/** Hex digit value by char code, -1 for a non-digit. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let d = 0; d < 10; d++) HEX_VALUE[0x30 + d] = d;
for (let d = 0; d < 6; d++) {
  HEX_VALUE[0x41 + d] = 10 + d;
  HEX_VALUE[0x61 + d] = 10 + d;
}

/** For each octet: the character it decodes to if unreserved (RFC 3986 §2.3), else its canonical `%XX`. */
const DECODED: string[] = [];
for (let v = 0; v < 256; v++) {
  const unreserved = (v >= 0x41 && v <= 0x5a) || (v >= 0x61 && v <= 0x7a) || (v >= 0x30 && v <= 0x39)
    || v === 0x2d || v === DOT || v === 0x5f || v === 0x7e;
  DECODED.push(unreserved ? String.fromCharCode(v) : '%' + v.toString(16).toUpperCase().padStart(2, '0'));
}

function fail(reason: string): Normalized {
  return { ok: false, reason };
}

/**
 * Normalise a raw request-target (origin-form, as on the request line) into the path used for routing and
 * forwarding, plus the raw query.
 *
 * Why each rule exists:
 * - `#`, controls, space, DEL and non-ASCII are refused rather than repaired: a conforming client
 *   percent-encodes them, and anything else is a parser-differential probe between us and the upstream.
 * - Only unreserved escapes (`%41`, `%2e`, `%7E`) are decoded, because only those are guaranteed equivalent
 *   (RFC 3986 §6.2.2.2); decoding them is what makes `%2e%2e` a dot-segment here just as it is in most
 *   upstreams. Other escapes keep their meaning and are only upper-cased, so two spellings of one path
 *   route identically. Non-ASCII octets (`%C3%A9`) stay encoded: they are not unreserved.
 * - A malformed escape is refused: upstreams disagree on what `%G1` or a trailing `%` means.
 * - A raw `\` is refused under every option: some upstreams (IIS; WHATWG URL parsers such as `new URL()`) treat it as
 *   `/`, which would reopen every trick that `/` normalisation closes.
 * - Duplicate slashes are handled before dot-segments, so `//..//x` cannot climb past a segment that the
 *   upstream would have merged away; dot-segment removal (RFC 3986 §5.2.4) always runs, and `..` never
 *   climbs above `/`, so the output never contains a `.` or `..` segment.
 *
 * Fast path: a path with no `%`, `\`, `//` or dot-segment is returned as the same string (no `?`) or a
 * slice of it (with a query); the only allocation is the result object.
 *
 * Output is idempotent — normalising a normalised target changes nothing — so a path handed to a plugin,
 * re-routed or forwarded to another gateway stays the same path. Under `keep` the path may start with `//`
 * (`/.//x` gives `//x`); code that builds URLs from it must not treat it as a network-path reference.
 */
export function normalizeTarget(target: string, options: NormalizeOptions): Normalized {
  const len = target.length;
  if (len === 0 || target.charCodeAt(0) !== SLASH) return fail(REASON_NOT_ORIGIN_FORM);
  let prev = SLASH;
  let i = 1;
  for (; i < len; i++) {
    const c = target.charCodeAt(i);
    if (c > 0x7e) return fail(REASON_BAD_BYTE);
    const k = CLASS[c];
    if (k !== C_PLAIN) {
      if (k === C_QMARK) break;
      if (k === C_SLASH) {
        if (prev === SLASH) return slowPath(target, options);
      } else if (k === C_DOT) {
        if (prev === SLASH && isDotSegmentAt(target, i, len)) return slowPath(target, options);
      } else if (k === C_PERCENT) {
        return slowPath(target, options);
      } else {
        return fail(k === C_HASH ? REASON_FRAGMENT : k === C_BACKSLASH ? REASON_BACKSLASH : REASON_BAD_BYTE);
      }
    }
    prev = c;
  }
  if (i === len) return { ok: true, path: target, query: '' };
  const bad = checkQuery(target, i + 1, len);
  if (bad !== null) return fail(bad);
  return { ok: true, path: target.slice(0, i), query: target.slice(i + 1) };
}

/** Whether the `.` at `i` (just after a `/`) starts a `.` or `..` segment. */
function isDotSegmentAt(target: string, i: number, len: number): boolean {
  let j = i + 1;
  if (j < len && target.charCodeAt(j) === DOT) j++;
  if (j === len) return true;
  const c = target.charCodeAt(j);
  return c === SLASH || c === QMARK;
}

/** The query is forwarded raw, so only what is illegal anywhere in a request-target is checked. */
function checkQuery(target: string, from: number, len: number): string | null {
  for (let i = from; i < len; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return REASON_BAD_BYTE;
    if (c === 0x23) return REASON_FRAGMENT;
  }
  return null;
}

/**
 * Full normalisation: validate, decode and split into segments in one pass, resolving dot-segments on a
 * stack as each segment ends. `%2F` stays inside its segment as text, so splitting on raw `/` after
 * decoding is exactly splitting on the separators the client sent.
 */
function slowPath(target: string, options: NormalizeOptions): Normalized {
  const len = target.length;
  const merge = options.duplicateSlashes === 'merge';
  const rejectDuplicates = options.duplicateSlashes === 'reject';
  const rejectEscapedSlashes = options.escapedSlashes === 'reject';
  const out: string[] = [];
  let segment = ''; // decoded text of the current segment before runStart
  let runStart = 1; // start of the raw run not yet copied into segment
  let i = 1;
  for (;;) {
    const c = i < len ? target.charCodeAt(i) : QMARK; // end of target ends the path like `?`
    if (c === SLASH || c === QMARK) {
      segment += target.slice(runStart, i);
      const last = c === QMARK;
      if (segment === '.' || segment === '..') {
        if (segment === '..') out.pop();
        if (last) out.push(''); // `/a/.` and `/a/b/..` keep their trailing slash
      } else if (segment !== '' || last || !merge) {
        out.push(segment);
      }
      if (last) break;
      if (rejectDuplicates && target.charCodeAt(i - 1) === SLASH) return fail(REASON_DUPLICATE_SLASH);
      segment = '';
      runStart = ++i;
      continue;
    }
    if (c > 0x7e) return fail(REASON_BAD_BYTE);
    const k = CLASS[c];
    if (k === C_PERCENT) {
      const h1 = target.charCodeAt(i + 1); // NaN past the end: fails the < 0x80 test below
      const h2 = target.charCodeAt(i + 2);
      const hi = h1 < 0x80 ? HEX_VALUE[h1]! : -1;
      const lo = h2 < 0x80 ? HEX_VALUE[h2]! : -1;
      if (hi < 0 || lo < 0) return fail(REASON_BAD_ESCAPE);
      const v = (hi << 4) | lo;
      if (v === SLASH || v === 0x5c) {
        if (rejectEscapedSlashes) return fail(REASON_ESCAPED_SLASH);
      }
      const replacement = DECODED[v]!;
      // Copy only when the text changes: decoded, or hex digits not already upper-case.
      if (replacement.length === 1 || h1 >= 0x61 || h2 >= 0x61) {
        segment += target.slice(runStart, i) + replacement;
        runStart = i + 3;
      }
      i += 3;
      continue;
    }
    if (k === C_BAD) return fail(REASON_BAD_BYTE);
    if (k === C_HASH) return fail(REASON_FRAGMENT);
    if (k === C_BACKSLASH) return fail(REASON_BACKSLASH);
    i++;
  }
  const path = out.length === 0 ? '/' : '/' + out.join('/');
  if (i >= len) return { ok: true, path, query: '' };
  const bad = checkQuery(target, i + 1, len);
  if (bad !== null) return fail(bad);
  return { ok: true, path, query: target.slice(i + 1) };
}
