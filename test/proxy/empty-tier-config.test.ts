/** The proxy config's per-tier empty-tier keys: defaults, the effective choice per tier, errors. */
import { ConfigError, parseProxyConfig, tierWhenEmpty } from '../../proxy/src/config';
import { minimalConfig } from './helpers';

const tiers = (t: Array<Record<string, unknown>>) =>
  minimalConfig({ tiers: (minimalConfig().tiers as Array<Record<string, unknown>>).map((x, i) => ({ ...x, ...t[i] })) });

function issuesOf(input: unknown): string[] {
  try {
    parseProxyConfig(input);
  } catch (e) {
    return [...(e as ConfigError).issues];
  }
  return [];
}

describe('empty-tier config', () => {
  test('left out: the last (largest) tier holds, the others spill; 300 s holds, queues of 100', () => {
    const c = parseProxyConfig(minimalConfig());
    expect([tierWhenEmpty(c, 0), tierWhenEmpty(c, 1)]).toEqual(['spill', 'hold']);
    expect(c.tiers.map((t) => [t.maxHoldMs, t.holdQueueSize])).toEqual([[300_000, 100], [300_000, 100]]);
    expect([c.dispatch.holdProbeIntervalMs, c.dispatch.holdKeepAliveMs]).toEqual([1000, 15_000]);
  });

  test('set: each tier does what it says', () => {
    const c = parseProxyConfig(tiers([{ whenEmpty: 'hold', maxHoldMs: 1000, holdQueueSize: 3 }, { whenEmpty: 'spill' }]));
    expect([tierWhenEmpty(c, 0), tierWhenEmpty(c, 1)]).toEqual(['hold', 'spill']);
    expect(c.tiers[0]).toMatchObject({ maxHoldMs: 1000, holdQueueSize: 3 });
  });

  test('bad values are named with what was expected', () => {
    expect(issuesOf(tiers([{ whenEmpty: 'wait', maxHoldMs: 0 }, { holdQueueSize: 1.5 }]))).toEqual([
      'tiers[0].whenEmpty: got "wait", expected "hold" or "spill"',
      'tiers[0].maxHoldMs: got 0, expected a positive integer',
      'tiers[1].holdQueueSize: got 1.5, expected a positive integer',
    ]);
  });
});
