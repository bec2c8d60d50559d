/**
 * CloudWatch metric alarm evaluation, as the CloudWatch User Guide documents it ("Evaluating an
 * alarm" and "How alarm state is evaluated when data is missing",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html, and
 * https://github.com/awsdocs/amazon-cloudwatch-user-guide/blob/master/doc_source/AlarmThatSendsEmail.md).
 * Pure functions: the engine feeds them datapoints, the tests feed them hand-built sequences.
 */

/** The three alarm states. */
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** `TreatMissingData` of AWS::CloudWatch::Alarm; `missing` is the default. */
export type TreatMissingData = 'missing' | 'ignore' | 'breaching' | 'notBreaching';

/** `ComparisonOperator` values of a static-threshold alarm. */
export type ComparisonOperator =
  | 'GreaterThanOrEqualToThreshold'
  | 'GreaterThanThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';

/** Comparison operators this evaluator understands (anomaly-band operators are not modelled). */
export const COMPARISON_OPERATORS: readonly ComparisonOperator[] = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
];

/** Missing-data treatments the API accepts. */
export const TREAT_MISSING_DATA: readonly TreatMissingData[] = ['missing', 'ignore', 'breaching', 'notBreaching'];

/** What decides an alarm's state from its datapoints. */
export interface AlarmRule {
  /** Seconds per datapoint: 10, 20, 30 or a multiple of 60. */
  readonly period: number;
  /** N: the most recent datapoints that are evaluated. */
  readonly evaluationPeriods: number;
  /** M: breaching datapoints among the N that put the alarm in ALARM (defaults to N). */
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: ComparisonOperator;
  readonly treatMissingData: TreatMissingData;
}

/** True when `value` is on the breaching side of the threshold. */
export function isBreaching(value: number, rule: Pick<AlarmRule, 'threshold' | 'comparison'>): boolean {
  switch (rule.comparison) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= rule.threshold;
    case 'GreaterThanThreshold':
      return value > rule.threshold;
    case 'LessThanThreshold':
      return value < rule.threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= rule.threshold;
  }
}

/**
 * Datapoints CloudWatch retrieves per evaluation (the "evaluation range"). The guide says only that
 * it is more than N and depends on the period and resolution; its worked tables use N = 3 with 5
 * datapoints, so the simulator assumes N + 2.
 */
export function evaluationRange(evaluationPeriods: number): number {
  return evaluationPeriods + 2;
}

/**
 * How often CloudWatch evaluates an alarm, in seconds: every 10 s when the period is 10 or 30 s,
 * every minute otherwise ("If the alarm period is 10 seconds or 30 seconds, the alarm is evaluated
 * every 10 seconds", CloudWatch User Guide, high-resolution alarms).
 */
export function evaluationInterval(period: number): number {
  return period < 60 ? 10 : 60;
}

/**
 * The state an alarm moves to, given the datapoints of its evaluation range (oldest first,
 * `undefined` for a missing datapoint) and its current state:
 * - N or more datapoints exist: the most recent N existing datapoints decide, missing ones are
 *   skipped and the treatment is not used;
 * - fewer exist: `breaching` / `notBreaching` fill the gap up to N with breaching / good points
 *   (real datapoints are always included, fills are used as few times as possible);
 * - `missing`: all missing is INSUFFICIENT_DATA; otherwise any non-breaching point decides on the
 *   existing points alone; only breaching points left means ALARM when the newest datapoint is the
 *   missing one (the metric stopped after breaching) and INSUFFICIENT_DATA when it exists;
 * - `ignore` behaves like `missing` but keeps the current state where `missing` would say
 *   INSUFFICIENT_DATA or decide on breaching points alone.
 * The last two rules reproduce every row of the guide's two tables (3 of 3 and 2 of 3 alarms).
 */
export function nextAlarmState(range: ReadonlyArray<number | undefined>, rule: AlarmRule, current: AlarmState): AlarmState {
  const n = rule.evaluationPeriods;
  const m = rule.datapointsToAlarm;
  const existing: number[] = [];
  for (const v of range) if (v !== undefined) existing.push(v);
  if (existing.length >= n) {
    const recent = existing.slice(existing.length - n);
    const breaching = recent.filter((v) => isBreaching(v, rule)).length;
    return breaching >= m ? 'ALARM' : 'OK';
  }
  const breaching = existing.filter((v) => isBreaching(v, rule)).length;
  const good = existing.length - breaching;
  const fills = n - existing.length;
  switch (rule.treatMissingData) {
    case 'breaching':
      return breaching + fills >= m ? 'ALARM' : 'OK';
    case 'notBreaching':
      return breaching >= m ? 'ALARM' : 'OK';
    case 'missing':
    case 'ignore': {
      const keep: AlarmState = rule.treatMissingData === 'ignore' ? current : 'INSUFFICIENT_DATA';
      if (existing.length === 0) return keep;
      if (good > 0) return breaching >= m ? 'ALARM' : 'OK';
      if (rule.treatMissingData === 'ignore') return current;
      const newestMissing = range.length > 0 && range[range.length - 1] === undefined;
      return newestMissing ? 'ALARM' : keep;
    }
  }
}

/** One alarm's evaluation state inside the simulation. */
export interface AlarmTracker {
  state: AlarmState;
  /** Simulated second of the last state change. */
  since: number;
  /** Simulated second the alarm's Auto Scaling action last ran (-Infinity: never). */
  lastActionAt: number;
}

/** A new tracker: alarms start in INSUFFICIENT_DATA (PutMetricAlarm sets it on creation). */
export function newAlarmTracker(): AlarmTracker {
  return { state: 'INSUFFICIENT_DATA', since: 0, lastActionAt: -Infinity };
}

/** Period between repeated Auto Scaling actions of an alarm that stays in ALARM, seconds. */
export const AUTO_SCALING_ACTION_REPEAT_SECONDS = 60;

/**
 * Applies one evaluation to `tracker` and says whether the alarm's Auto Scaling action runs now:
 * on the transition into ALARM, then once a minute for as long as the alarm stays in ALARM
 * ("an alarm invokes an Auto Scaling action once each minute when the alarm remains in a new state,
 * regardless of the configured time period", https://repost.aws/knowledge-center/autoscaling-policy-cloudwatch-alarm;
 * "Except for Auto Scaling actions, the actions happen only on state transitions",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html).
 */
export function stepAlarm(tracker: AlarmTracker, next: AlarmState, now: number): boolean {
  if (next !== tracker.state) {
    tracker.state = next;
    tracker.since = now;
    if (next === 'ALARM') {
      tracker.lastActionAt = now;
      return true;
    }
    return false;
  }
  if (next === 'ALARM' && now - tracker.lastActionAt >= AUTO_SCALING_ACTION_REPEAT_SECONDS) {
    tracker.lastActionAt = now;
    return true;
  }
  return false;
}
