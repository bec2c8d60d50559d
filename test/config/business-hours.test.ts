import { BusinessHours, businessHoursCrons, prewarmWindows } from '../../lib/config/business-hours';

const weekdays: BusinessHours = { enabled: true, timeZone: 'America/New_York', days: ['MON', 'TUE', 'WED', 'THU', 'FRI'], startHour: 8, endHour: 19 };

describe('business hours: one schedule for scaled minimums and pre-warm', () => {
  test('scheduled actions raise the minimum at the start hour and lower it at the end hour of each business day', () => {
    expect(businessHoursCrons(weekdays)).toEqual({ start: '0 8 * * 1-5', end: '0 19 * * 1-5' });
    expect(businessHoursCrons({ ...weekdays, days: ['SUN', 'TUE', 'WED', 'SAT'] })).toEqual({ start: '0 8 * * 0,2-3,6', end: '0 19 * * 0,2-3,6' });
  });

  test('business hours until midnight end at 00:00 of the following day, Saturday wrapping to Sunday', () => {
    expect(businessHoursCrons({ ...weekdays, days: ['FRI', 'SAT'], endHour: 24 })).toEqual({ start: '0 8 * * 5-6', end: '0 0 * * 0,6' });
  });

  test('pre-warm covers the hours around business hours on business days and every hour of the other days', () => {
    expect(prewarmWindows(weekdays, 5)).toEqual([
      { name: 'BusinessDaysOutsideHours', expression: 'cron(0/5 0-7,19-23 ? * MON-FRI *)' },
      { name: 'OtherDays', expression: 'cron(0/5 * ? * SUN,SAT *)' },
    ]);
  });

  test('with the raised minimum off, every hour of the week is outside business hours', () => {
    expect(prewarmWindows({ ...weekdays, enabled: false }, 10)).toEqual([{ name: 'AllWeek', expression: 'cron(0/10 * ? * * *)' }]);
  });

  test('windows that would be empty are left out; a one-minute interval is every minute', () => {
    const everyDay: BusinessHours = { ...weekdays, days: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], startHour: 0, endHour: 20 };
    expect(prewarmWindows(everyDay, 1)).toEqual([{ name: 'BusinessDaysOutsideHours', expression: 'cron(* 20-23 ? * SUN-SAT *)' }]);
    expect(prewarmWindows({ ...everyDay, endHour: 24 }, 5)).toEqual([]);
  });

  test('an interval that does not divide the hour is refused', () => {
    expect(() => prewarmWindows(weekdays, 7)).toThrow(/got interval 7, expected one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30/);
  });
});
