/**
 * The scenarios catch the two scaling defects the project once shipped: on each environment's
 * template rewritten back to those shapes, the first request to a tier at zero starts nothing (the
 * in-flight gauge stays at zero while the proxy fails over at once), and on staging a queue
 * scale-in step removes, at a steady load, the instance target tracking added.
 */
import { readSimModel } from '../../tools/fleet-sim/model';
import { firstRequestFromZero, steadyFullLoad } from '../../tools/fleet-sim/scenarios';
import { legacyTemplate } from './legacy-template';
import { synth, SYNTH_TIMEOUT_MS } from './helpers';

const FROM_ZERO: Record<string, Record<string, string>> = {
  dev: { env: 'dev' },
  staging: { env: 'staging' },
  prod: { env: 'prod', 'tiers.large.minCapacity': '0', 'tiers.large.businessHoursMinCapacity': '0' },
};

describe.each(['dev', 'staging', 'prod'])('the former scaling shapes on the %s template', (env) => {
  it('fail the first-request-from-zero scenario: no instance starts within the hour', () => {
    const base = synth(FROM_ZERO[env]);
    const results = firstRequestFromZero(readSimModel(legacyTemplate(base.template)), base.workload);
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) expect(r.failures.join('\n')).toMatch(/no instance started within the hour after the first request/);
  }, SYNTH_TIMEOUT_MS);
});

describe('the former queue scale-in step beside target tracking (staging)', () => {
  it('fails steady full load with churn: an instance terminated within 30 minutes of its launch', () => {
    const base = synth({ env: 'staging' });
    const r = steadyFullLoad(readSimModel(legacyTemplate(base.template)), base.workload);
    expect(r.failures.join('\n')).toMatch(/large: \d+ instance\(s\) terminated within 30 min of launch/);
  }, SYNTH_TIMEOUT_MS);
});
