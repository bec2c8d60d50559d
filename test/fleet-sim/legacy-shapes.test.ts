/**
 * The scenarios catch the two scaling defects the project once shipped: on each environment's
 * template rewritten back to those shapes, the first request to a tier at zero starts nothing (the
 * in-flight gauge stays at zero while the proxy spills or holds its requests), at a steady load a
 * queue scale-in step removes the instance target tracking adds back, and a burst finds the large
 * tier short of instances once boot time and the alarm window have passed.
 */
import { readSimModel } from '../../tools/fleet-sim/model';
import { burstAbsorbed, firstRequestFromZero, steadyFullLoad } from '../../tools/fleet-sim/scenarios';
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

// What each environment's steady full load and burst show on the former shapes.
const STEADY: Record<string, RegExp> = {
  // Both tiers at zero at night never start: everything is refused.
  dev: /tiers: (\d+) of \1 request\(s\) refused or dropped after the first hour/,
  staging: /large: \d+ scale-in\(s\) reversed by a launch within 30 min/,
  prod: /large: \d+ scale-in\(s\) reversed by a launch within 30 min/,
};
const BURST: Record<string, RegExp> = {
  dev: /large: 0 instance\(s\) serving at 1:22, expected at least 1/,
  staging: /large: 0 instance\(s\) serving at 1:22, expected at least 2/,
  prod: /large: [0-3] instance\(s\) serving at 1:22, expected at least 4/,
};

describe.each(['dev', 'staging', 'prod'])('the former queue scale-in step beside target tracking on running requests (%s)', (env) => {
  it('fails steady full load: a scale-in target tracking undoes, or a tier that never starts', () => {
    const base = synth({ env });
    expect(steadyFullLoad(readSimModel(legacyTemplate(base.template)), base.workload).failures.join('\n')).toMatch(STEADY[env]);
  }, SYNTH_TIMEOUT_MS);

  it('fails the burst: the large tier lacks the instances the burst needs when boot plus the alarm window has passed', () => {
    const base = synth({ env });
    expect(burstAbsorbed(readSimModel(legacyTemplate(base.template)), base.workload).failures.join('\n')).toMatch(BURST[env]);
  }, SYNTH_TIMEOUT_MS);
});
