import { fleetAutoScalingGroupName } from '../../lib/constructs/model-fleet';
import { businessHoursCrons, prewarmWindows } from '../../lib/config/business-hours';
import { all, buildEnvironment, fleetResources, refersTo } from '../fleets/fixture';
import { schedulerCronFires, unixCronFires, weekMinutes } from './cron';

const DAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/**
 * Every hour of a week, in the schedules' time zone: in each hour in which a fleet may be below its
 * business-hours minimum (its scheduled actions have lowered the minimum, or none raise it), a
 * pre-warm schedule runs. Read from the synthesized AWS::AutoScaling::ScheduledAction and
 * AWS::Scheduler::Schedule resources.
 */
describe.each([
  ['prod', {}],
  ['staging', {}],
  // Business hours off: a fleet whose business-hours minimum is above its minimum is below it all week.
  ['dev', { 'prewarm.enabled': 'true', 'tiers.small.businessHoursMinCapacity': '1' }],
  // Three business days, until midnight, in another zone, every 10 minutes.
  ['prod', {
    'businessHours.days': 'MON,WED,FRI', 'businessHours.startHour': '6', 'businessHours.endHour': '24',
    'businessHours.timeZone': 'Europe/Berlin', 'prewarm.intervalMinutes': '10',
  }],
] as const)('%s %j: pre-warm runs in every hour a fleet may be below its business-hours minimum', (envName, overrides) => {
  const { config, specs, template } = buildEnvironment(envName, overrides);
  const week = weekMinutes();
  const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')).map((r) => r.Properties);
  const zones = new Set([
    ...schedules.map((s) => s.ScheduleExpressionTimezone),
    ...all(template, 'AWS::AutoScaling::ScheduledAction').map(([, r]) => r.Properties.TimeZone),
  ]);
  /** Pre-warm runs per hour of the week (168 hours, Sunday 00:00 first). */
  const runs = new Array(168).fill(0);
  week.forEach((t, i) => {
    if (schedules.some((s) => s.State === 'ENABLED' && schedulerCronFires(s.ScheduleExpression, t))) runs[Math.floor(i / 60)]++;
  });

  test('every schedule and scheduled action runs in one time zone', () => {
    expect([...zones]).toHaveLength(1);
  });

  const below = specs.map((spec) => {
    const { groupId, group } = fleetResources(template, fleetAutoScalingGroupName(envName, spec.name));
    const actions = all(template, 'AWS::AutoScaling::ScheduledAction', (r) => refersTo(r.Properties.AutoScalingGroupName, groupId))
      .map(([, r]) => ({ cron: r.Properties.Recurrence as string, minSize: Number(r.Properties.MinSize) }));
    // Two passes over the week from the deployed minimum: the second is the steady weekly cycle.
    let minSize = Number(group.Properties.MinSize);
    const hours = new Set<number>();
    for (let pass = 0; pass < 2; pass++) {
      week.forEach((t, i) => {
        const firing = actions.filter((a) => unixCronFires(a.cron, t));
        if (firing.length > 1) throw new Error(`${spec.name}: two scheduled actions at ${DAY[t.weekday]} ${t.hour}:${t.minute}`);
        if (firing.length === 1) minSize = firing[0].minSize;
        if (pass === 1 && minSize < spec.businessHoursMinCapacity) hours.add(Math.floor(i / 60));
      });
    }
    return { fleet: spec.name, hours: [...hours] };
  });

  test('some fleet is below its business-hours minimum somewhere in the week (the check is not empty)', () => {
    expect(below.some((b) => b.hours.length > 0)).toBe(true);
  });

  test.each(below.map((b) => [b.fleet, b] as const))('%s: each such hour has pre-warm runs every interval', (_fleet, { hours }) => {
    const label = (h: number) => `${DAY[Math.floor(h / 24)]} ${String(h % 24).padStart(2, '0')}:00`;
    expect(hours.filter((h) => runs[h] === 0).map(label)).toEqual([]);
    const perHour = 60 / config.prewarm.intervalMinutes;
    expect(hours.filter((h) => runs[h] < perHour).map((h) => `${label(h)}: ${runs[h]} runs`)).toEqual([]);
  });

  test('business hours and pre-warm hours together cover the whole week, and pre-warm skips business hours when the minimum is raised', () => {
    const business = new Set<number>();
    if (config.businessHours.enabled) {
      const crons = businessHoursCrons(config.businessHours);
      let open = false;
      for (let pass = 0; pass < 2; pass++) {
        week.forEach((t, i) => {
          if (unixCronFires(crons.start, t)) open = true;
          if (unixCronFires(crons.end, t)) open = false;
          if (pass === 1 && open) business.add(Math.floor(i / 60));
        });
      }
    }
    for (let h = 0; h < 168; h++) {
      expect({ hour: h, covered: business.has(h) || runs[h] > 0 }).toEqual({ hour: h, covered: true });
      expect({ hour: h, both: business.has(h) && runs[h] > 0 }).toEqual({ hour: h, both: false });
    }
    expect(schedules.map((s) => s.ScheduleExpression).sort()).toEqual(
      prewarmWindows(config.businessHours, config.prewarm.intervalMinutes).map((w) => w.expression).sort());
  });
});
