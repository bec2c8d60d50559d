/** Checks of schedule expressions and time zones, done at synth so a deploy never fails on them. */

/** True when the runtime knows the IANA time zone. */
export function isValidTimeZone(tz: string): boolean {
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** Checks one cron field: `*`, values, ranges, lists and steps within [min, max] (names allowed). */
function validField(field: string, min: number, max: number, names: readonly string[] = [], nameBase = 0): boolean {
  const value = (v: string): number | undefined => {
    const upper = v.toUpperCase();
    const idx = names.indexOf(upper);
    if (idx >= 0) return idx + nameBase;
    if (!/^\d+$/.test(v)) return undefined;
    const n = Number(v);
    return n >= min && n <= max ? n : undefined;
  };
  return field.split(',').every((part) => {
    const [range, step, extra] = part.split('/');
    if (extra !== undefined) return false;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1 && Number(step) <= max)) return false;
    if (range === '*') return true;
    const bounds = range.split('-');
    if (bounds.length > 2) return false;
    const nums = bounds.map(value);
    if (nums.some((n) => n === undefined)) return false;
    return nums.length === 1 || (nums[0] as number) <= (nums[1] as number);
  });
}

/** A 5-field Unix cron expression (Auto Scaling scheduled actions). */
export function isValidUnixCron(expr: string): boolean {
  const f = expr.trim().split(/\s+/);
  return f.length === 5
    && validField(f[0], 0, 59)
    && validField(f[1], 0, 23)
    && validField(f[2], 1, 31)
    && validField(f[3], 1, 12, MONTHS, 1)
    && validField(f[4], 0, 7, DAYS, 0);
}

/**
 * An EventBridge Scheduler expression: `rate(N unit)` or `cron(min hour dom month dow year)`, where
 * exactly one of day-of-month and day-of-week is `?`.
 */
export function isValidAwsScheduleExpression(expr: string): boolean {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expr);
  if (rate) {
    const n = Number(rate[1]);
    return n >= 1 && (n === 1) === !rate[2].endsWith('s');
  }
  const cron = /^cron\((.*)\)$/.exec(expr);
  if (!cron) return false;
  const f = cron[1].trim().split(/\s+/);
  if (f.length !== 6) return false;
  const [min, hour, dom, month, dow, year] = f;
  if ((dom === '?') === (dow === '?')) return false;
  const stripDow = dow.replace(/#[1-5]$/, '').replace(/L$/, '');
  const stripDom = dom.replace(/^L$/, '1').replace(/W$/, '');
  return validField(min, 0, 59)
    && validField(hour, 0, 23)
    && (dom === '?' || validField(stripDom, 1, 31))
    && validField(month, 1, 12, MONTHS, 1)
    && (dow === '?' || validField(stripDow, 1, 7, DAYS, 1))
    && validField(year, 1970, 2199);
}
