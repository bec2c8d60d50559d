import fc from 'fast-check';
import { localTime, schedulerMatcher, unixCronMatcher } from '../../tools/fleet-sim/cron';

const NY = 'America/New_York';
const at = (iso: string) => Date.parse(iso);
const fires = (m: ReturnType<typeof unixCronMatcher>, iso: string, tz = NY) => m(localTime(at(iso), tz), at(iso));

describe('schedules in a time zone', () => {
  it('fires a scheduled action at 08:00 local on weekdays, across the change to daylight saving time', () => {
    const start = unixCronMatcher('0 8 * * 1-5');
    expect(fires(start, '2025-03-07T13:00:00Z')).toBe(true); // Friday 08:00 EST
    expect(fires(start, '2025-03-10T12:00:00Z')).toBe(true); // Monday 08:00 EDT
    expect(fires(start, '2025-03-10T13:00:00Z')).toBe(false);
    expect(fires(start, '2025-03-08T13:00:00Z')).toBe(false); // Saturday
  });

  it('reads ranges, lists, steps, names and Sunday as 0 or 7', () => {
    const m = unixCronMatcher('*/15 19-23,0-7 * JAN-DEC sun,7');
    expect(fires(m, '2025-06-01T23:45:00Z')).toBe(true); // Sunday 19:45 EDT
    expect(fires(m, '2025-06-01T23:50:00Z')).toBe(false);
    expect(() => unixCronMatcher('0 8 * *')).toThrow(/5 cron fields/);
    expect(() => unixCronMatcher('0 25 * * *')).toThrow(/hour/);
  });

  it('fires the pre-warm schedule every 5 minutes outside business hours only', () => {
    const m = schedulerMatcher('cron(0/5 0-7,19-23 ? * * *)', 0);
    expect(fires(m, '2025-06-02T23:05:00Z')).toBe(true); // 19:05 EDT
    expect(fires(m, '2025-06-02T23:06:00Z')).toBe(false);
    expect(fires(m, '2025-06-02T16:00:00Z')).toBe(false); // 12:00 EDT
    const rate = schedulerMatcher('rate(10 minutes)', at('2025-06-02T00:00:00Z'));
    expect(fires(rate, '2025-06-02T00:20:00Z')).toBe(true);
    expect(fires(rate, '2025-06-02T00:25:00Z')).toBe(false);
    expect(() => schedulerMatcher('at(2025-06-02T00:00:00)', 0)).toThrow(/not modelled/);
  });

  it('computes local time as Intl does, for any instant and zone', () => {
    const zones = ['America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC'];
    fc.assert(fc.property(fc.integer({ min: Date.parse('2024-01-01'), max: Date.parse('2027-01-01') }), fc.constantFrom(...zones), (ms, tz) => {
      const minute = Math.floor(ms / 60_000) * 60_000;
      const parts: Record<string, string> = {};
      for (const p of new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' }).formatToParts(new Date(minute))) parts[p.type] = p.value;
      const t = localTime(minute, tz);
      expect([t.year, t.month, t.day, t.hour, t.minute]).toEqual([parts.year, parts.month, parts.day, parts.hour, parts.minute].map(Number));
    }), { numRuns: 300 });
  });
});
