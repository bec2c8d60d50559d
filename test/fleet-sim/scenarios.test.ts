/**
 * The scaling scenarios on the environments as they synthesize from this checkout. They describe
 * what a correct scaling configuration does; a failure lists what the simulator saw instead.
 */
import { burstAbsorbed, firstRequestFromZero, nightReturnsToMinimum, steadyFullLoad } from '../../tools/fleet-sim/scenarios';
import { synth, SYNTH_TIMEOUT_MS } from './helpers';

// prod keeps every tier above zero; its large tier is checked from zero with the override a user would pass.
const FROM_ZERO: Record<string, Record<string, string>> = {
  dev: { env: 'dev' },
  staging: { env: 'staging' },
  prod: { env: 'prod', 'tiers.large.minCapacity': '0', 'tiers.large.businessHoursMinCapacity': '0' },
};

describe.each(['dev', 'staging', 'prod'])('scaling scenarios on the %s template', (env) => {
  let base: ReturnType<typeof synth>;
  let zero: ReturnType<typeof synth>;
  beforeAll(() => {
    base = synth({ env });
    zero = synth(FROM_ZERO[env]);
  }, SYNTH_TIMEOUT_MS);

  it('steady full load gives zero churn', () => {
    expect(steadyFullLoad(base.model, base.workload).failures).toEqual([]);
  });

  it('the first request to a tier at zero capacity starts an instance within the alarm window', () => {
    const results = firstRequestFromZero(zero.model, zero.workload);
    expect(results.every((r) => r.applicable)).toBe(true);
    expect(results.flatMap((r) => r.failures)).toEqual([]);
  });

  it('night traffic returns every fleet to its minimum', () => {
    expect(nightReturnsToMinimum(base.model, base.workload).failures).toEqual([]);
  });

  it('a burst is absorbed within boot time plus the alarm window, with no request dropped', () => {
    const r = burstAbsorbed(base.model, base.workload);
    expect(r.failures).toEqual([]);
    const tiers = r.run!.outcome.fleets.filter((f) => f.kind === 'tier');
    expect(tiers.reduce((n, f) => n + f.dropped, 0)).toBe(0);
  });
});

describe('a first-token deadline shorter than new capacity takes to arrive', () => {
  it.each(['staging', 'prod'])('%s: 60 s (as the proxy once rendered it) drops the streams a burst queues at vLLM', (env) => {
    const base = synth({ env });
    const r = burstAbsorbed(base.model, base.workload, { settings: { firstTokenTimeoutMs: 60_000 } });
    expect(r.failures.join('\n')).toMatch(/large: \d+ request\(s\) dropped/);
  }, SYNTH_TIMEOUT_MS);
});
