/**
 * Matchers for the two cron dialects the stack emits, evaluated on local wall-clock time: Unix cron
 * (5 fields, Auto Scaling scheduled actions; day of week 0-7, Sunday 0 or 7) and EventBridge
 * Scheduler `cron(...)` (6 fields with a year; day of week 1-7, Sunday 1; `?` in one day field).
 * Values, ranges, lists, steps and day/month names; L, W and # are outside the subset and throw.
 */

/** One local minute. */
export interface WallClock {
  readonly year: number;
  /** 1-12. */
  readonly month: number;
  /** Day of month, 1-31. */
  readonly day: number;
  /** Day of week, 0 = Sunday. */
  readonly weekday: number;
  readonly hour: number;
  readonly minute: number;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The values one field allows, within [min, max]; names map to `names.indexOf(name) + nameBase`. */
function fieldValues(field: string, min: number, max: number, names: string[] = [], nameBase = 0): Set<number> {
  if (/[LW#]/.test(field.replace(/[A-Z]{3}/g, ''))) throw new Error(`cron field "${field}": L, W and # are outside the supported subset`);
  const value = (v: string) => {
    const i = names.indexOf(v.toUpperCase());
    const n = i >= 0 ? i + nameBase : Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`cron field "${field}": ${v} is outside ${min}-${max}`);
    return n;
  };
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      [lo, hi] = [min, max];
    } else if (range.includes('-')) {
      [lo, hi] = range.split('-').map(value);
    } else {
      lo = value(range);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** True when the Unix cron `expr` fires at `t`. */
export function unixCronFires(expr: string, t: WallClock): boolean {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 5) throw new Error(`unix cron "${expr}": expected 5 fields`);
  const weekdays = fieldValues(f[4], 0, 7, DAYS, 0);
  const dayOk = fieldValues(f[2], 1, 31).has(t.day);
  const weekdayOk = weekdays.has(t.weekday) || (t.weekday === 0 && weekdays.has(7));
  // Unix cron: when both day fields are restricted, either may match.
  const days = f[2] !== '*' && f[4] !== '*' ? dayOk || weekdayOk : dayOk && weekdayOk;
  return fieldValues(f[0], 0, 59).has(t.minute) && fieldValues(f[1], 0, 23).has(t.hour) && days
    && fieldValues(f[3], 1, 12, MONTHS, 1).has(t.month);
}

/** True when the EventBridge Scheduler expression `cron(m h dom mon dow year)` fires at `t`. */
export function schedulerCronFires(expr: string, t: WallClock): boolean {
  const m = /^cron\((.*)\)$/.exec(expr);
  if (!m) throw new Error(`scheduler expression "${expr}": only cron(...) is supported here`);
  const f = m[1].trim().split(/\s+/);
  if (f.length !== 6) throw new Error(`scheduler cron "${expr}": expected 6 fields`);
  if ((f[2] === '?') === (f[4] === '?')) throw new Error(`scheduler cron "${expr}": exactly one day field must be ?`);
  return fieldValues(f[0], 0, 59).has(t.minute)
    && fieldValues(f[1], 0, 23).has(t.hour)
    && (f[2] === '?' || fieldValues(f[2], 1, 31).has(t.day))
    && fieldValues(f[3], 1, 12, MONTHS, 1).has(t.month)
    && (f[4] === '?' || fieldValues(f[4], 1, 7, DAYS, 1).has(t.weekday + 1))
    && fieldValues(f[5], 1970, 2199).has(t.year);
}

/** Every minute of one calendar week, Sunday 00:00 to Saturday 23:59 (the week of 3 January 2027). */
export function weekMinutes(): WallClock[] {
  const out: WallClock[] = [];
  for (let d = 0; d < 7; d++) {
    for (let hour = 0; hour < 24; hour++) {
      for (let minute = 0; minute < 60; minute++) out.push({ year: 2027, month: 1, day: 3 + d, weekday: d, hour, minute });
    }
  }
  return out;
}
