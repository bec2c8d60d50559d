/**
 * Schedules the simulator fires once a simulated minute: Auto Scaling scheduled actions (5-field
 * Unix cron in an IANA `TimeZone`, https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-scheduled-scaling.html)
 * and EventBridge Scheduler expressions (`cron(min hour dom month dow year)` or `rate(N unit)` in
 * `ScheduleExpressionTimezone`, https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
 */

/** Wall-clock fields of one instant in one time zone. */
export interface LocalTime {
  readonly year: number;
  /** 1-12. */
  readonly month: number;
  /** 1-31. */
  readonly day: number;
  /** 0-23. */
  readonly hour: number;
  readonly minute: number;
  /** 0 = Sunday ... 6 = Saturday. */
  readonly weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, Map<number, number>>();
/** Offsets are looked up once per quarter hour: every zone changes its offset on a quarter hour. */
const OFFSET_BLOCK_MS = 15 * 60_000;

/** The local wall-clock fields of `epochMs` in `timeZone` (daylight saving included). */
export function localTime(epochMs: number, timeZone: string): LocalTime {
  let zone = offsets.get(timeZone);
  if (!zone) {
    zone = new Map();
    offsets.set(timeZone, zone);
  }
  const block = Math.floor(epochMs / OFFSET_BLOCK_MS);
  let offset = zone.get(block);
  if (offset === undefined) {
    const t = intlLocalTime(block * OFFSET_BLOCK_MS, timeZone);
    offset = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute) - block * OFFSET_BLOCK_MS;
    if (zone.size > 100_000) zone.clear();
    zone.set(block, offset);
  }
  const d = new Date(epochMs + offset);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    weekday: d.getUTCDay(),
  };
}

function intlLocalTime(epochMs: number, timeZone: string): LocalTime {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(epochMs))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: WEEKDAYS.indexOf(parts.weekday),
  };
}

/** Decides whether a schedule fires in the minute that starts at an instant. */
export type MinuteMatcher = (t: LocalTime, epochMs: number) => boolean;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The set of values a cron field allows, or undefined for `*` / `?` (any). */
function fieldSet(field: string, min: number, max: number, names: readonly string[], nameBase: number, what: string): Set<number> | undefined {
  if (field === '*' || field === '?') return undefined;
  const value = (v: string): number => {
    const idx = names.indexOf(v.toUpperCase());
    if (idx >= 0) return idx + nameBase;
    if (!/^\d+$/.test(v)) throw new Error(`${what}: got "${v}", expected a number${names.length ? ' or a name' : ''} (L, W and # are not modelled)`);
    return Number(v);
  };
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`${what}: got step "${stepText}", expected a positive integer`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = min;
      hi = max;
    } else {
      const [a, b] = range.split('-');
      lo = value(a);
      hi = b === undefined ? (stepText === undefined ? lo : max) : value(b);
    }
    if (lo < min || hi > max || lo > hi) throw new Error(`${what}: got "${part}", expected values in [${min}, ${max}]`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

const allows = (set: Set<number> | undefined, v: number) => set === undefined || set.has(v);

/**
 * A 5-field Unix cron (`min hour dom month dow`, dow 0-7 with 0 and 7 Sunday). When both day fields
 * are restricted, either may match, as in Vixie cron.
 */
export function unixCronMatcher(expr: string): MinuteMatcher {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 5) throw new Error(`got "${expr}", expected 5 cron fields (minute hour day-of-month month day-of-week)`);
  const minute = fieldSet(f[0], 0, 59, [], 0, 'minute');
  const hour = fieldSet(f[1], 0, 23, [], 0, 'hour');
  const dom = fieldSet(f[2], 1, 31, [], 0, 'day-of-month');
  const month = fieldSet(f[3], 1, 12, MONTHS, 1, 'month');
  const dowRaw = fieldSet(f[4], 0, 7, DAYS, 0, 'day-of-week');
  const dow = dowRaw && new Set([...dowRaw].map((d) => d % 7));
  return (t) => {
    if (!allows(minute, t.minute) || !allows(hour, t.hour) || !allows(month, t.month)) return false;
    if (dom !== undefined && dow !== undefined) return dom.has(t.day) || dow.has(t.weekday);
    return allows(dom, t.day) && allows(dow, t.weekday);
  };
}

/**
 * An EventBridge Scheduler expression: `cron(min hour dom month dow year)` (dow 1-7 = SUN-SAT,
 * one of the two day fields is `?`) or `rate(N minute(s)|hour(s)|day(s))` counted from `startMs`.
 */
export function schedulerMatcher(expr: string, startMs: number): MinuteMatcher {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expr.trim());
  if (rate) {
    const unit = rate[2].startsWith('minute') ? 60_000 : rate[2].startsWith('hour') ? 3_600_000 : 86_400_000;
    const every = Number(rate[1]) * unit;
    return (_t, epochMs) => (epochMs - startMs) % every === 0;
  }
  const cron = /^cron\((.*)\)$/.exec(expr.trim());
  if (!cron) throw new Error(`got "${expr}", expected cron(...) or rate(...) (at(...) one-time schedules are not modelled)`);
  const f = cron[1].trim().split(/\s+/);
  if (f.length !== 6) throw new Error(`got "${expr}", expected 6 cron fields (minute hour day-of-month month day-of-week year)`);
  const minute = fieldSet(f[0], 0, 59, [], 0, 'minute');
  const hour = fieldSet(f[1], 0, 23, [], 0, 'hour');
  const dom = fieldSet(f[2], 1, 31, [], 0, 'day-of-month');
  const month = fieldSet(f[3], 1, 12, MONTHS, 1, 'month');
  const dow = fieldSet(f[4], 1, 7, DAYS, 1, 'day-of-week');
  const year = fieldSet(f[5], 1970, 2199, [], 0, 'year');
  return (t) => allows(minute, t.minute) && allows(hour, t.hour) && allows(dom, t.day) && allows(month, t.month)
    && allows(dow, t.weekday + 1) && allows(year, t.year);
}
