/**
 * Reading a credential from, and removing it from, a raw query string or a Cookie header. Removal keeps every
 * other parameter or cookie exactly as the client wrote it (encoding, order, empty values): the upstream may sign
 * or cache on them.
 */

/** Decodes a form-encoded query component; undefined when it is not valid percent-encoding. */
function decodeComponent(s: string): string | undefined {
  if (!s.includes('%') && !s.includes('+')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The value of the first parameter whose (decoded) name is in `names`, trying the names in order. A value that
 * is not valid percent-encoding is returned raw: it will not match any key, and the request is refused rather
 * than treated as carrying none.
 */
export function queryParam(query: string, names: readonly string[]): string | undefined {
  if (query === '') return undefined;
  const found = new Map<string, string>();
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const name = decodeComponent(eq === -1 ? part : part.slice(0, eq));
    if (name === undefined || found.has(name) || !names.includes(name)) continue;
    const raw = eq === -1 ? '' : part.slice(eq + 1);
    found.set(name, decodeComponent(raw) ?? raw);
  }
  for (const n of names) {
    const v = found.get(n);
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** The query string without the parameters whose (decoded) name is in `names`; the rest byte for byte. */
export function withoutParams(query: string, names: ReadonlySet<string>): string {
  if (query === '') return query;
  const parts = query.split('&');
  const kept = parts.filter((part) => {
    const eq = part.indexOf('=');
    const name = decodeComponent(eq === -1 ? part : part.slice(0, eq));
    return name === undefined || !names.has(name);
  });
  return kept.length === parts.length ? query : kept.join('&');
}

function cookiePairs(header: string): Array<[name: string, value: string, raw: string]> {
  const out: Array<[string, string, string]> = [];
  for (const piece of header.split(';')) {
    const raw = piece.trim();
    if (raw === '') continue;
    const eq = raw.indexOf('=');
    if (eq === -1) continue;
    let value = raw.slice(eq + 1).trim();
    // RFC 6265 §4.1.1: a cookie-value may be wrapped in double quotes, which are not part of it.
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    out.push([raw.slice(0, eq).trim(), value, raw]);
  }
  return out;
}

/** The value of the first cookie named in `names` (in the order of `names`). */
export function cookieValue(header: string | undefined, names: readonly string[]): string | undefined {
  if (header === undefined || header === '') return undefined;
  const pairs = cookiePairs(header);
  for (const n of names) {
    for (const [name, value] of pairs) if (name === n && value !== '') return value;
  }
  return undefined;
}

/** The Cookie header without the cookies named in `names`; undefined when none is left. */
export function withoutCookies(header: string, names: ReadonlySet<string>): string | undefined {
  const kept = cookiePairs(header).filter(([name]) => !names.has(name)).map(([, , raw]) => raw);
  return kept.length === 0 ? undefined : kept.join('; ');
}
