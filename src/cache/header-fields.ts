/**
 * Header access shared by the caching policy modules. Headers have Node's IncomingHttpHeaders shape: lower-case
 * names; a string, an array (field lines Node keeps apart, e.g. set-cookie), or undefined.
 */
export type Headers = Record<string, string | string[] | undefined>;

/** All field lines of a header joined with ', ' (RFC 9110 §5.3 says that is equivalent); undefined when absent. */
export function headerValue(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.join(', ');
  return v;
}

/**
 * The first field line of a header that allows one value (Date, Expires, Last-Modified, ETag): RFC 9111 §4.2.1
 * lets a cache use the first occurrence when a sender repeats one.
 */
export function firstValue(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** True when the header is present with at least one field line. */
export function hasHeader(headers: Headers, name: string): boolean {
  const v = headers[name];
  return Array.isArray(v) ? v.length > 0 : v !== undefined;
}

/**
 * The members of a comma-separated list (RFC 9110 §5.6.1): trimmed, empty members dropped. A comma inside a
 * quoted string does not split (ETag lists, `private="a, b"`).
 */
export function listMembers(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i <= value.length; i++) {
    const c = value[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && quoted) i++;
    else if ((c === ',' && !quoted) || i === value.length) {
      const member = value.slice(start, i).trim();
      if (member !== '') out.push(member);
      start = i + 1;
    }
  }
  return out;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MON = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// RFC 9110 §5.6.7: IMF-fixdate, the obsolete RFC 850 form and asctime. Day names are not checked against the date.
const IMF_FIXDATE = new RegExp(`^[a-z]{3}, (\\d{2}) ${MON} (\\d{4}) ${TIME} GMT$`, 'i');
const RFC850_DATE = new RegExp(`^[a-z]{6,9}, (\\d{2})-${MON}-(\\d{2}) ${TIME} GMT$`, 'i');
const ASCTIME_DATE = new RegExp(`^[a-z]{3} ${MON} ([ \\d]\\d) ${TIME} (\\d{4})$`, 'i');

/**
 * An HTTP-date (RFC 9110 §5.6.7) in ms since the epoch; undefined when the value is not one. Strict on purpose:
 * `Date.parse('0')` is the year 2000, and `Expires: 0` must mean "already expired", not "fresh until 2000".
 * A two-digit RFC 850 year is 19yy from 70 and 20yy below (the RFC's "50 years ahead" rule needs a clock).
 */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const s = value.trim();
  let m = IMF_FIXDATE.exec(s);
  if (m !== null) return utc(Number(m[3]), m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  m = RFC850_DATE.exec(s);
  if (m !== null) {
    const yy = Number(m[3]);
    return utc(yy < 70 ? 2000 + yy : 1900 + yy, m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME_DATE.exec(s);
  if (m !== null) return utc(Number(m[6]), m[1]!, m[2]!, m[3]!, m[4]!, m[5]!);
  return undefined;
}

function utc(year: number, mon: string, day: string, h: string, min: string, sec: string): number | undefined {
  const month = MONTHS.indexOf(mon.toLowerCase());
  const d = Number(day.trim());
  const [hh, mm, ss] = [Number(h), Number(min), Number(sec)];
  if (d < 1 || hh > 23 || mm > 59 || ss > 60) return undefined;
  const t = Date.UTC(year, month, d, hh, mm, Math.min(ss, 59));
  // 31 Feb rolls over into March in Date.UTC: that is not a date.
  return new Date(t).getUTCDate() === d ? t : undefined;
}

/** An IMF-fixdate for a header (`Sun, 06 Nov 1994 08:49:37 GMT`). */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** A date header in ms, or undefined when absent or invalid. */
export function dateHeader(headers: Headers, name: string): number | undefined {
  return parseHttpDate(firstValue(headers, name));
}
