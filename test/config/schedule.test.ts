import { isValidAwsScheduleExpression, isValidTimeZone, isValidUnixCron } from '../../lib/config/schedule';

describe('schedule expressions', () => {
  test.each([
    ['0 8 * * 1-5', true],
    ['*/15 0-7,19-23 * * MON-FRI', true],
    ['0 8 * *', false],
    ['60 8 * * *', false],
    ['0 8 32 * *', false],
    ['0 8 * * 8', false],
    ['0 8-6 * * *', false],
  ])('unix cron %p is valid: %p', (expr, ok) => {
    expect(isValidUnixCron(expr)).toBe(ok);
  });

  test.each([
    ['cron(0/5 0-7,19-23 ? * * *)', true],
    ['cron(0 8 ? * MON-FRI *)', true],
    ['cron(0 8 1 * ? *)', true],
    ['cron(0 8 * * * *)', false],
    ['cron(0 8 ? * ? *)', false],
    ['cron(0/5 * * * *)', false],
    ['rate(5 minutes)', true],
    ['rate(1 hour)', true],
    ['rate(1 hours)', false],
    ['rate(0 minutes)', false],
    ['every 5 minutes', false],
  ])('scheduler expression %p is valid: %p', (expr, ok) => {
    expect(isValidAwsScheduleExpression(expr)).toBe(ok);
  });

  test.each([
    ['America/New_York', true],
    ['Europe/Berlin', true],
    ['UTC', true],
    ['Mars/Olympus', false],
    ['UTC+2', false],
  ])('time zone %p is valid: %p', (tz, ok) => {
    expect(isValidTimeZone(tz)).toBe(ok);
  });
});
