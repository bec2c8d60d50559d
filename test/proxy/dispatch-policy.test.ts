/** The retry / 429 / failover / give-up policy, as a table: outcomes in, actions out. */
import {
  BREAKER_OPEN,
  CLIENT_GONE,
  DEADLINE_PASSED,
  WAITED,
  failoverOrder,
  isRetryable,
  next,
  start,
  type Outcome,
  type PolicyConfig,
  type Step,
} from '../../proxy/src/dispatch/policy';

const CFG: PolicyConfig = { retries: 1, backoffMs: 100, maxBackoffMs: 1000, maxRetryAfterMs: 2000, maxAttempts: 3 };

const s503: Outcome = { kind: 'status', status: 503 };
const s500: Outcome = { kind: 'status', status: 500 };
const refused: Outcome = { kind: 'connect', code: 'ECONNREFUSED' };
const s429 = (retryAfterMs?: number): Outcome => ({ kind: 'status', status: 429, retryAfterMs });

/** One step as text: `<breaker verdict><! when counted as a failed attempt> <action>`. */
function show(step: Step): string {
  const a = step.action;
  const action =
    a.kind === 'attempt' ? `attempt ${a.tier}` : a.kind === 'wait' ? `wait ${a.ms}` : a.kind === 'give-up' ? `give-up ${a.error.status} ${a.error.code} retry-after ${a.retryAfterSeconds}` : 'abandon';
  return `${step.breaker}${step.failed ? '!' : ''} ${action}`;
}

/** Runs the policy from `start` through `outcomes`; returns every step shown. */
function trace(outcomes: Outcome[], opts: { decided?: number; tiers?: number; sameTierOnly?: boolean; cfg?: Partial<PolicyConfig> } = {}): string[] {
  const cfg = { ...CFG, ...opts.cfg };
  let step = start(opts.decided ?? 0, opts.tiers ?? 2, opts.sameTierOnly ?? false, cfg);
  const out = [show(step)];
  for (const o of outcomes) {
    step = next(step.state, o, cfg);
    out.push(show(step));
  }
  return out;
}

describe('dispatch policy', () => {
  test.each<[string, Outcome[], Parameters<typeof trace>[1], string[]]>([
    ['a 5xx is retried on the same tier after the back-off, then fails over', [s503, WAITED, s500], {}, ['none attempt 0', 'failure! wait 100', 'none attempt 0', 'failure! attempt 1']],
    [
      'back-off doubles per retry and stops at maxBackoffMs',
      [s503, WAITED, s503, WAITED, s503, WAITED, s503],
      { cfg: { retries: 3, backoffMs: 300, maxBackoffMs: 1000, maxAttempts: 10 } },
      ['none attempt 0', 'failure! wait 300', 'none attempt 0', 'failure! wait 600', 'none attempt 0', 'failure! wait 1000', 'none attempt 0', 'failure! attempt 1'],
    ],
    ['no same-tier retry with retries 0', [s503], { cfg: { retries: 0 } }, ['none attempt 0', 'failure! attempt 1']],
    ['429 with a Retry-After within the limit: wait for it on the same tier, breaker released', [s429(1500), WAITED], {}, ['none attempt 0', 'release! wait 1500', 'none attempt 0']],
    ['429 with a Retry-After over the limit: fail over', [s429(30_000)], {}, ['none attempt 0', 'release! attempt 1']],
    ['429 without a Retry-After: fail over', [s429()], {}, ['none attempt 0', 'release! attempt 1']],
    ['a 429 wait does not use up the 5xx retries', [s429(0), WAITED, s503, WAITED], { cfg: { maxAttempts: 5 } }, ['none attempt 0', 'release! wait 0', 'none attempt 0', 'failure! wait 100', 'none attempt 0']],
    ['a refused or reset connection fails over at once', [refused], {}, ['none attempt 0', 'failure! attempt 1']],
    ['no headers within the first-token deadline: fail over at once', [DEADLINE_PASSED], {}, ['none attempt 0', 'failure! attempt 1']],
    ['the client leaving during an attempt abandons it and frees the permit', [CLIENT_GONE], {}, ['none attempt 0', 'release abandon']],
    ['the client leaving during a back-off abandons the request', [s503, CLIENT_GONE], {}, ['none attempt 0', 'failure! wait 100', 'release abandon']],
    ['an open breaker skips the tier without an attempt', [BREAKER_OPEN], {}, ['none attempt 0', 'none attempt 1']],
    ['an open breaker after a back-off moves on to the next tier', [s503, BREAKER_OPEN], {}, ['none attempt 0', 'failure! wait 100', 'none attempt 1']],
    ['every breaker open: 503 without any attempt', [BREAKER_OPEN, BREAKER_OPEN], {}, ['none attempt 0', 'none attempt 1', 'none give-up 503 all_tiers_unavailable retry-after 1']],
    [
      'the attempt cap ends retries and failover alike',
      [s503, WAITED, s503, s503],
      { tiers: 3, cfg: { maxAttempts: 3 } },
      ['none attempt 0', 'failure! wait 100', 'none attempt 0', 'failure! attempt 1', 'failure! give-up 503 all_tiers_unavailable retry-after 1'],
    ],
    ['no same-tier retry once the next attempt would pass the cap', [s503], { cfg: { maxAttempts: 1 } }, ['none attempt 0', 'failure! give-up 503 all_tiers_unavailable retry-after 1']],
    ['no 429 wait once the next attempt would pass the cap', [s429(100)], { cfg: { maxAttempts: 1 } }, ['none attempt 0', 'release! give-up 429 rate_limit_exceeded retry-after 1']],
    [
      'every tier failing: 503 all_tiers_unavailable',
      [s503, WAITED, s503, refused],
      { cfg: { maxAttempts: 5 } },
      ['none attempt 0', 'failure! wait 100', 'none attempt 0', 'failure! attempt 1', 'failure! give-up 503 all_tiers_unavailable retry-after 1'],
    ],
    ['only 429s: 429 with the shortest Retry-After, rounded up to seconds', [s429(30_000), s429(20_500)], {}, ['none attempt 0', 'release! attempt 1', 'release! give-up 429 rate_limit_exceeded retry-after 21']],
    ['only 429s without Retry-After: 429 with Retry-After 1', [s429(), s429()], {}, ['none attempt 0', 'release! attempt 1', 'release! give-up 429 rate_limit_exceeded retry-after 1']],
    ['a 429 and a 5xx: 503', [s429(), refused], {}, ['none attempt 0', 'release! attempt 1', 'failure! give-up 503 all_tiers_unavailable retry-after 1']],
    ['the large tier fails over to the smaller one', [refused], { decided: 1 }, ['none attempt 1', 'failure! attempt 0']],
    ['a named model stays on its tier: same-tier retries only', [s503, WAITED, s503], { decided: 1, sameTierOnly: true }, ['none attempt 1', 'failure! wait 100', 'none attempt 1', 'failure! give-up 503 all_tiers_unavailable retry-after 1']],
  ])('%s', (_name, outcomes, opts, expected) => {
    expect(trace(outcomes, opts)).toEqual(expected);
  });

  test('a failover order: the decided tier, larger ones, then smaller ones', () => {
    expect(failoverOrder(1, 4)).toEqual([1, 2, 3, 0]);
    expect(failoverOrder(0, 1)).toEqual([0]);
  });

  test.each([
    [200, false],
    [400, false],
    [404, false],
    [422, false],
    [429, true],
    [500, true],
    [503, true],
    [504, true],
  ])('status %d ends the attempt as a failure: %s', (status, retryable) => {
    expect(isRetryable(status)).toBe(retryable);
  });

  test('next never mutates the state it is given', () => {
    const first = start(0, 2, false, CFG);
    const frozen = Object.freeze({ ...first.state, order: Object.freeze([...first.state.order]) });
    expect(() => next(frozen, s503, CFG)).not.toThrow();
    expect(frozen.attempts).toBe(0);
  });
});
