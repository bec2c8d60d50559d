/**
 * The simulator's mechanics on a configuration that should scale well: the synthesized templates
 * rewritten to target tracking on load per instance for scale-in, scale-out-only queue steps,
 * scale-from-zero on NoCapacityRequests, and a proxy that spills or holds for empty tiers.
 */
import { readSimModel, SimModel } from '../../tools/fleet-sim/model';
import { burstAbsorbed, firstRequestFromZero, nightReturnsToMinimum, scaleOutAlarmWindow, steadyFullLoad } from '../../tools/fleet-sim/scenarios';
import { fixedTemplate } from './fixed-template';
import { synth, SYNTH_TIMEOUT_MS } from './helpers';

const FROM_ZERO: Record<string, Record<string, string>> = {
  dev: { env: 'dev' },
  staging: { env: 'staging' },
  prod: { env: 'prod', 'tiers.large.minCapacity': '0', 'tiers.large.businessHoursMinCapacity': '0' },
};

describe.each(['dev', 'staging', 'prod'])('corrected scaling shapes on the %s template', (env) => {
  let model: SimModel;
  let zero: SimModel;
  let workload: ReturnType<typeof synth>['workload'];
  beforeAll(() => {
    const base = synth({ env });
    workload = base.workload;
    model = readSimModel(fixedTemplate(base.template));
    zero = readSimModel(fixedTemplate(synth(FROM_ZERO[env]).template));
  }, SYNTH_TIMEOUT_MS);

  it('give zero churn at steady full load', () => {
    expect(steadyFullLoad(model, workload).failures).toEqual([]);
  });

  it('start a tier from zero on its first request, within the NoCapacityRequests alarm window', () => {
    const results = firstRequestFromZero(zero, workload);
    expect(results.length).toBeGreaterThan(0);
    expect(results.flatMap((r) => r.failures)).toEqual([]);
  });

  it('return every fleet to its minimum at night', () => {
    expect(nightReturnsToMinimum(model, workload).failures).toEqual([]);
  });
});

describe('corrected scaling shapes under a burst (prod)', () => {
  it('scale the large tier to its maximum within two alarm windows, not one instance per warm-up', () => {
    const base = synth({ env: 'prod' });
    const model = readSimModel(fixedTemplate(base.template));
    const r = burstAbsorbed(model, base.workload);
    const large = model.fleets.find((f) => f.name === 'large')!;
    const desired = r.run!.outcome.fleets.find((f) => f.name === 'large')!.timeline.desired;
    const reachedAt = Array.from(desired).findIndex((d, minute) => minute >= 60 && d === large.maxSize) * 60;
    expect(reachedAt).toBeGreaterThanOrEqual(3600);
    expect(reachedAt - 3600).toBeLessThanOrEqual(2 * (scaleOutAlarmWindow(large) as number) + 60);
  }, SYNTH_TIMEOUT_MS);
});
