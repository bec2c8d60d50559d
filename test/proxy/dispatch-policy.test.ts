/** The retry / 429 / failover / give-up policy, as a table: outcomes in, actions out. */
import {
  BREAKER_OPEN,
  CLIENT_GONE,
  DEADLINE_PASSED,
  HOLD_EXPIRED,
  HOLD_FULL,
  NO_CAPACITY_ANSWER,
  RELEASED,
  WAITED,
  failoverOrder,
  isNoCapacity,
  isRetryable,
  next,
  pinToTier,
  start,
  type Outcome,
  type PolicyConfig,
  type Step,
} from '../../proxy/src/dispatch/policy';

const CFG: PolicyConfig = { retries: 1, backoffMs: 100, maxBackoffMs: 1000, maxRetryAfterMs: 2000, maxAttempts: 3, whenEmpty: ['spill', 'spill', 'hold'], maxHoldMs: [30_000, 30_000, 300_000] };

const s503: Outcome = { kind: 'status', status: 503 };
const s500: Outcome = { kind: 'status', status: 500 };
const refused: Outcome = { kind: 'connect', code: 'ECONNREFUSED' };
const s429 = (retryAfterMs?: number): Outcome => ({ kind: 'status', status: 429, retryAfterMs });

/**
 * One step as text: `<breaker verdict><! when counted as a failed attempt><# when counted as a
 * request without capacity> <action>`; an attempt that spills says so.
 */
function show(step: Step): string {
  const a = step.action;
  let action: string;
  if (a.kind === 'attempt') action = `attempt ${a.tier}${a.cause === 'spill' ? ' (spill)' : ''}`;
  else if (a.kind === 'wait') action = `wait ${a.ms}`;
  else if (a.kind === 'hold') action = `hold ${a.tier} for ${a.ms}`;
  else if (a.kind === 'give-up') action = `give-up ${a.error.status} ${a.error.code} retry-after ${a.retryAfterSeconds}`;
  else action = 'abandon';
  return `${step.breaker}${step.failed ? '!' : ''}${step.noCapacity ? '#' : ''} ${action}`;
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

  // Tiers 0 and 1 spill when empty, tier 2 holds (CFG.whenEmpty).
  const nc = NO_CAPACITY_ANSWER;
  test.each<[string, Outcome[], Parameters<typeof trace>[1], string[]]>([
    ['an empty spill tier: on to the next tier, breaker released, counted, not a failed attempt', [nc], { tiers: 3 }, ['none attempt 0', 'release# attempt 1 (spill)']],
    ['an empty hold tier: held for its longest hold', [nc], { decided: 2, tiers: 3 }, ['none attempt 2', 'release# hold 2 for 300000']],
    ['released: the held tier is tried again', [nc, RELEASED], { decided: 2, tiers: 3 }, ['none attempt 2', 'release# hold 2 for 300000', 'none attempt 2']],
    [
      'still empty after the release: held again, counted once per request',
      [nc, RELEASED, nc, RELEASED],
      { decided: 2, tiers: 3 },
      ['none attempt 2', 'release# hold 2 for 300000', 'none attempt 2', 'release hold 2 for 300000', 'none attempt 2'],
    ],
    ['spill into a hold tier: both counted, then held', [nc, nc], { decided: 1, tiers: 3 }, ['none attempt 1', 'release# attempt 2 (spill)', 'release# hold 2 for 300000']],
    ['a hold that expires: 503 no_capacity, Retry-After capped at 60 s', [nc, HOLD_EXPIRED], { decided: 2, tiers: 3 }, ['none attempt 2', 'release# hold 2 for 300000', 'none give-up 503 no_capacity retry-after 60']],
    ['a full hold queue: 503 no_capacity at once', [nc, HOLD_FULL], { decided: 2, tiers: 3 }, ['none attempt 2', 'release# hold 2 for 300000', 'none give-up 503 no_capacity retry-after 60']],
    ['a short hold: Retry-After of the hold, rounded up', [nc, HOLD_EXPIRED], { decided: 2, tiers: 3, cfg: { maxHoldMs: [1, 1, 1500] } }, ['none attempt 2', 'release# hold 2 for 1500', 'none give-up 503 no_capacity retry-after 2']],
    ['the client leaving while held: abandoned, nothing charged', [nc, CLIENT_GONE], { decided: 2, tiers: 3 }, ['none attempt 2', 'release# hold 2 for 300000', 'release abandon']],
    [
      'empty answers do not count against the attempt cap',
      [nc, nc, nc, RELEASED, s503],
      { tiers: 3, cfg: { maxAttempts: 1 } },
      ['none attempt 0', 'release# attempt 1 (spill)', 'release# attempt 2 (spill)', 'release# hold 2 for 300000', 'none attempt 2', 'failure! give-up 503 all_tiers_unavailable retry-after 1'],
    ],
    [
      'every tier spilling and empty: 503 no_capacity',
      [nc, nc],
      { tiers: 2, cfg: { whenEmpty: ['spill', 'spill'], maxHoldMs: [30_000, 30_000] } },
      ['none attempt 0', 'release# attempt 1 (spill)', 'release# give-up 503 no_capacity retry-after 30'],
    ],
    ['the largest tier spills down the failover order', [nc], { decided: 1, tiers: 2, cfg: { whenEmpty: ['spill', 'spill'] } }, ['none attempt 1', 'release# attempt 0 (spill)']],
    ['an empty tier after a failure: failover, then spill', [refused, nc], { tiers: 3 }, ['none attempt 0', 'failure! attempt 1', 'release# attempt 2 (spill)']],
    ['a named model on an empty spill tier cannot move: 503 no_capacity', [nc], { sameTierOnly: true, tiers: 3 }, ['none attempt 0', 'release# give-up 503 no_capacity retry-after 30']],
  ])('empty tier: %s', (_name, outcomes, opts, expected) => {
    expect(trace(outcomes, opts)).toEqual(expected);
  });

  test('a held stream pinned to its tier neither fails over nor spills', () => {
    const cfg = CFG;
    const held = next(start(2, 3, false, cfg).state, NO_CAPACITY_ANSWER, cfg);
    const pinned = pinToTier(held.state);
    expect(pinned.order).toEqual([2]);
    expect(show(next(pinned, RELEASED, cfg))).toBe('none attempt 2');
    expect(show(next(pinned, refused, cfg))).toBe('failure! give-up 503 all_tiers_unavailable retry-after 1');
  });

  test.each<[string, number, string | undefined, boolean]>([
    ['an ALB with no healthy target', 503, 'awselb/2.0', true],
    ['any awselb version', 503, 'AWSELB/3.1', true],
    ['vLLM overloaded or broken (uvicorn)', 503, 'uvicorn', false],
    ['a 503 without a Server header', 503, undefined, false],
    ['an ALB 502 (target refused the connection)', 502, 'awselb/2.0', false],
    ['an ALB 504 (target timed out)', 504, 'awselb/2.0', false],
    ['a normal answer through the ALB', 200, 'uvicorn', false],
  ])('no capacity: %s (%d, Server %s) -> %s', (_name, status, server, expected) => {
    expect(isNoCapacity(status, server)).toBe(expected);
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
