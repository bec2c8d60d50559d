import {
  AlarmRule, AlarmState, evaluationInterval, evaluationRange, isBreaching, newAlarmTracker, nextAlarmState, stepAlarm, TreatMissingData,
} from '../../tools/fleet-sim/alarm';

// Datapoints as the CloudWatch User Guide writes them: 0 not breaching, X breaching, - missing.
const X = 5;
const OK = 0;
function points(text: string): Array<number | undefined> {
  return text.split(' ').map((c) => (c === '-' ? undefined : c === 'X' ? X : OK));
}
const rule = (m: number, n: number, treat: TreatMissingData): AlarmRule => ({
  period: 60, evaluationPeriods: n, datapointsToAlarm: m, threshold: 3, comparison: 'GreaterThanThreshold', treatMissingData: treat,
});
const RETAIN = 'retain';
type Expect = AlarmState | typeof RETAIN;

// "How alarm state is evaluated when data is missing": both tables, every row, every treatment
// (columns MISSING, IGNORE, BREACHING, NOT BREACHING).
const THREE_OF_THREE: Array<[string, Expect, Expect, Expect, Expect]> = [
  ['0 - X - X', 'OK', 'OK', 'OK', 'OK'],
  ['0 - - - -', 'OK', 'OK', 'OK', 'OK'],
  ['- - - - -', 'INSUFFICIENT_DATA', RETAIN, 'ALARM', 'OK'],
  ['0 X X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
  ['- - - - X', 'INSUFFICIENT_DATA', RETAIN, 'ALARM', 'OK'],
  ['X - - - -', 'ALARM', RETAIN, 'ALARM', 'OK'],
];
const TWO_OF_THREE: Array<[string, Expect, Expect, Expect, Expect]> = [
  ['0 - X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
  ['0 0 X 0 X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
  ['0 - X - -', 'OK', 'OK', 'ALARM', 'OK'],
  ['- - - - 0', 'OK', 'OK', 'ALARM', 'OK'],
  ['- - - - X', 'INSUFFICIENT_DATA', RETAIN, 'ALARM', 'OK'],
];
const TREATMENTS: TreatMissingData[] = ['missing', 'ignore', 'breaching', 'notBreaching'];

describe('CloudWatch alarm evaluation with missing data (documented tables)', () => {
  for (const [table, m] of [[THREE_OF_THREE, 3], [TWO_OF_THREE, 2]] as const) {
    for (const [row, ...expected] of table) {
      TREATMENTS.forEach((treat, i) => {
        it(`${m} of 3, datapoints ${row}, treat missing as ${treat}: ${expected[i]}`, () => {
          for (const current of ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as AlarmState[]) {
            const want = expected[i] === RETAIN ? current : expected[i];
            expect(nextAlarmState(points(row), rule(m, 3, treat), current)).toBe(want);
          }
        });
      });
    }
  }
});

describe('CloudWatch alarm evaluation', () => {
  it('needs M breaching datapoints among the last N, not consecutive ones', () => {
    const r = rule(2, 3, 'missing');
    expect(nextAlarmState(points('0 0 X 0 X'), r, 'OK')).toBe('ALARM');
    expect(nextAlarmState(points('X X 0 0 X'), r, 'ALARM')).toBe('OK');
    // Only the most recent N existing datapoints count, however old the others are.
    expect(nextAlarmState(points('X X X 0 0'), rule(1, 2, 'missing'), 'ALARM')).toBe('OK');
  });

  it('evaluates the most recent N existing datapoints when some are missing but N remain', () => {
    expect(nextAlarmState(points('X - X X -'), rule(3, 3, 'notBreaching'), 'OK')).toBe('ALARM');
  });

  it('retrieves N + 2 datapoints, as the worked tables do for N = 3', () => {
    expect(evaluationRange(3)).toBe(5);
  });

  it('compares with each operator on the right side of the threshold', () => {
    const at = (comparison: AlarmRule['comparison'], v: number) => isBreaching(v, { threshold: 1, comparison });
    expect([at('GreaterThanOrEqualToThreshold', 1), at('GreaterThanThreshold', 1), at('LessThanThreshold', 1), at('LessThanOrEqualToThreshold', 1)])
      .toEqual([true, false, false, true]);
    expect(at('LessThanThreshold', 0.5)).toBe(true);
  });

  it('evaluates 10- and 30-second alarms every 10 s and the others every minute', () => {
    expect([10, 20, 30, 60, 300].map(evaluationInterval)).toEqual([10, 10, 10, 60, 60]);
  });
});

describe('Auto Scaling actions of an alarm', () => {
  it('run on the transition into ALARM, then once a minute while the alarm stays there', () => {
    const t = newAlarmTracker();
    expect(t.state).toBe('INSUFFICIENT_DATA');
    const runs: number[] = [];
    // A 10-second alarm: evaluated every 10 s, in ALARM from 20 s to 150 s.
    for (let s = 0; s <= 200; s += 10) {
      const state: AlarmState = s >= 20 && s <= 150 ? 'ALARM' : 'OK';
      if (stepAlarm(t, state, s)) runs.push(s);
    }
    expect(runs).toEqual([20, 80, 140]);
    expect(t.state).toBe('OK');
  });

  it('never run for OK or INSUFFICIENT_DATA, and start again on the next transition into ALARM', () => {
    const t = newAlarmTracker();
    expect(stepAlarm(t, 'OK', 0)).toBe(false);
    expect(stepAlarm(t, 'INSUFFICIENT_DATA', 60)).toBe(false);
    expect(stepAlarm(t, 'ALARM', 70)).toBe(true);
    expect(stepAlarm(t, 'OK', 80)).toBe(false);
    expect(stepAlarm(t, 'ALARM', 90)).toBe(true);
  });
});
