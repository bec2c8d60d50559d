/** Per-tier behaviour of the proxy when a tier has no capacity: defaults, overrides, bounds. */
import { load, problems } from './helpers';

describe('empty-tier settings', () => {
  test('defaults: the small tier spills (pay more rather than fail), the large tier holds (nothing larger to spill to)', () => {
    const cfg = load({ env: 'prod' });
    expect(cfg.tiers[0]).toMatchObject({ name: 'small', whenEmpty: 'spill', maxHoldSeconds: 300, holdQueueSize: 256 });
    expect(cfg.tiers[1]).toMatchObject({ name: 'large', whenEmpty: 'hold', maxHoldSeconds: 300, holdQueueSize: 64 });
  });

  test('the dev environment, whose tiers start from zero, keeps them', () => {
    const dev = load({ env: 'dev' });
    expect(dev.tiers.map((t) => [t.minCapacity, t.whenEmpty])).toEqual([[0, 'spill'], [0, 'hold']]);
  });

  test('-c overrides are coerced and checked', () => {
    const cfg = load({ 'tiers.small.whenEmpty': 'hold', 'tiers.small.maxHoldSeconds': '120', 'tiers.large.holdQueueSize': '10' });
    expect(cfg.tiers[0]).toMatchObject({ whenEmpty: 'hold', maxHoldSeconds: 120 });
    expect(cfg.tiers[1].holdQueueSize).toBe(10);
    expect(problems({ 'tiers.small.whenEmpty': 'wait' })).toEqual([expect.stringMatching(/^tiers\.small\.whenEmpty: got "wait", expected .*hold.*spill/)]);
    expect(problems({ 'tiers.large.holdQueueSize': '0' })).toEqual([expect.stringMatching(/^tiers\.large\.holdQueueSize: got 0, expected >= 1/)]);
  });

  test('a hold as long as the public load balancer\'s idle timeout is refused: the proxy must answer first', () => {
    expect(problems({ 'tiers.large.maxHoldSeconds': '360' })).toEqual([
      "tiers.large.maxHoldSeconds: got 360, expected < 360 (the public load balancer's idle timeout, longestGenerationSeconds + 60)",
    ]);
    expect(load({ 'tiers.large.maxHoldSeconds': '359' }).tiers[1].maxHoldSeconds).toBe(359);
    expect(load({ 'tiers.large.maxHoldSeconds': '600', longestGenerationSeconds: '600' }).tiers[1].maxHoldSeconds).toBe(600);
  });
});
