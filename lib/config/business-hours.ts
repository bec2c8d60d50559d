/**
 * One schedule for the whole environment: business days and hours in one time zone. The fleets'
 * scheduled actions raise their minimum during business hours, and the pre-warm schedules cover
 * every other hour of the week, so no hour gets neither.
 */
import { isValidAwsScheduleExpression, isValidUnixCron } from './schedule';

/** Day names, in Unix cron order (0 = Sunday). EventBridge Scheduler accepts the same names. */
export const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
/** One day name. */
export type Weekday = (typeof WEEKDAYS)[number];

/** The business-hours schedule (`businessHours` in config). */
export interface BusinessHours {
  /** Raise each fleet's minimum to its businessHoursMinCapacity during business hours. */
  readonly enabled: boolean;
  /** IANA time zone of the business hours and of every schedule derived from them. */
  readonly timeZone: string;
  /** Business days. */
  readonly days: readonly Weekday[];
  /** First business hour, 0-23. */
  readonly startHour: number;
  /** Hour business ends, 1-24 and after startHour: the minimum drops back at this hour. */
  readonly endHour: number;
}

/** Minute intervals a cron `0/N` spreads evenly over an hour. */
export const PREWARM_INTERVALS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30] as const;

/** `[1, 2, 3, 5]` -> `1-3,5`: sorted, unique values with consecutive runs as ranges. */
function ranges(values: readonly number[], name: (v: number) => string = String): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? name(sorted[i]) : `${name(sorted[i])}-${name(sorted[j])}`);
    i = j;
  }
  return parts.join(',');
}

const dayIndexes = (days: readonly Weekday[]) => days.map((d) => WEEKDAYS.indexOf(d));

/** The scheduled actions of a fleet: Unix crons (Auto Scaling `Recurrence`) that raise and lower the minimum. */
export interface BusinessHoursCrons {
  /** At startHour on each business day. */
  readonly start: string;
  /** At endHour on each business day (midnight of the next day when endHour is 24). */
  readonly end: string;
}

/** The Unix crons of the business-hours scheduled actions, in the schedule's time zone. */
export function businessHoursCrons(bh: BusinessHours): BusinessHoursCrons {
  const days = dayIndexes(bh.days);
  const start = `0 ${bh.startHour} * * ${ranges(days)}`;
  const end = bh.endHour === 24
    ? `0 0 * * ${ranges(days.map((d) => (d + 1) % 7))}`
    : `0 ${bh.endHour} * * ${ranges(days)}`;
  for (const cron of [start, end]) {
    if (!isValidUnixCron(cron)) throw new Error(`businessHoursCrons: derived "${cron}", expected a valid Unix cron`);
  }
  return { start, end };
}

/** One EventBridge Scheduler schedule of the pre-warm function. */
export interface PrewarmWindow {
  /** Stable name: the construct id of the schedule. */
  readonly name: 'AllWeek' | 'BusinessDaysOutsideHours' | 'OtherDays';
  /** `cron(...)` in the schedule's time zone. */
  readonly expression: string;
}

/**
 * The pre-warm schedules: every `intervalMinutes` in each hour outside business hours, that is the
 * hours before startHour and from endHour on business days and every hour of the other days. One
 * cron cannot say both, so there are up to two. With the raised minimum off, every hour is outside
 * business hours.
 */
export function prewarmWindows(bh: BusinessHours, intervalMinutes: number): PrewarmWindow[] {
  if (!(PREWARM_INTERVALS as readonly number[]).includes(intervalMinutes)) {
    throw new Error(`prewarmWindows: got interval ${intervalMinutes}, expected one of ${PREWARM_INTERVALS.join(', ')}`);
  }
  const minutes = intervalMinutes === 1 ? '*' : `0/${intervalMinutes}`;
  const dayNames = (days: number[]) => ranges(days, (d) => WEEKDAYS[d]);
  const windows: PrewarmWindow[] = [];
  if (!bh.enabled) {
    windows.push({ name: 'AllWeek', expression: `cron(${minutes} * ? * * *)` });
  } else {
    const business = dayIndexes(bh.days);
    const quietHours = [...Array(24).keys()].filter((h) => h < bh.startHour || h >= bh.endHour);
    if (quietHours.length > 0) {
      windows.push({ name: 'BusinessDaysOutsideHours', expression: `cron(${minutes} ${ranges(quietHours)} ? * ${dayNames(business)} *)` });
    }
    const otherDays = [...Array(7).keys()].filter((d) => !business.includes(d));
    if (otherDays.length > 0) {
      windows.push({ name: 'OtherDays', expression: `cron(${minutes} * ? * ${dayNames(otherDays)} *)` });
    }
  }
  for (const w of windows) {
    if (!isValidAwsScheduleExpression(w.expression)) throw new Error(`prewarmWindows: derived "${w.expression}", expected a valid schedule expression`);
  }
  return windows;
}
