/**
 * Calendar periods for quotas: the day, ISO week (from Monday) or month that contains an instant, in an IANA time
 * zone, as [start, end) in ms since the epoch. Daylight-saving days are 23 or 25 hours long, as the zone's clocks
 * say; midnight that a DST jump skips starts the day at the first instant that exists.
 */
export type PeriodUnit = 'day' | 'week' | 'month';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the runtime knows this IANA zone name. */
export function validTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Monday … 6 = Sunday */
  weekday: number;
}

const WEEKDAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

function wall(ms: number, timeZone: string): Wall {
  const w: Partial<Wall> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) {
    if (p.type === 'weekday') w.weekday = WEEKDAYS[p.value];
    else if (p.type !== 'literal') (w as Record<string, number>)[p.type] = Number(p.value);
  }
  return w as Wall;
}

/** The zone's offset from UTC at an instant, in ms (wall clock minus UTC). */
function offsetAt(ms: number, timeZone: string): number {
  const w = wall(ms, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The first instant of a date in the zone: where the wall clock turns to that date (00:00, or later when a DST jump
 * skips midnight). The candidates are midnight under the offsets in force a day before and a day after; the
 * earliest one whose previous second is still on an earlier date is the start.
 */
function startOfDay(year: number, month: number, day: number, timeZone: string): number {
  const midnight = Date.UTC(year, month - 1, day);
  const candidates = [midnight - offsetAt(midnight - 86_400_000, timeZone), midnight - offsetAt(midnight + 86_400_000, timeZone)].sort((a, b) => a - b);
  const dateOf = (ms: number) => {
    const w = wall(ms, timeZone);
    return Date.UTC(w.year, w.month - 1, w.day);
  };
  for (const c of candidates) if (dateOf(c) === midnight && dateOf(c - 1000) < midnight) return c;
  return candidates[1]!;
}

export function calendarPeriod(now: number, unit: PeriodUnit, timeZone: string): { start: number; end: number } {
  const w = wall(now, timeZone);
  let y = w.year;
  let m = w.month;
  let d = w.day;
  if (unit === 'week') {
    const monday = new Date(Date.UTC(y, m - 1, d - w.weekday));
    y = monday.getUTCFullYear();
    m = monday.getUTCMonth() + 1;
    d = monday.getUTCDate();
  } else if (unit === 'month') {
    d = 1;
  }
  const start = startOfDay(y, m, d, timeZone);
  const next = new Date(Date.UTC(y, m - 1, d));
  if (unit === 'day') next.setUTCDate(next.getUTCDate() + 1);
  else if (unit === 'week') next.setUTCDate(next.getUTCDate() + 7);
  else next.setUTCMonth(next.getUTCMonth() + 1);
  const end = startOfDay(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone);
  return { start, end };
}
