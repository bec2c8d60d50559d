/** Synthesized environments for the fleet simulator's tests, one synth per context per test file. */
import { readSimModel, SimModel } from '../../tools/fleet-sim/model';
import { synthesizeEnvironment } from '../../tools/fleet-sim/synth';
import type { WorkloadDefaults } from '../../tools/fleet-sim/run';
import type { CfnTemplate } from '../../tools/fleet-sim/cfn';

/** One synthesized environment and what the simulator reads from it. */
export interface SynthesizedModel {
  readonly template: CfnTemplate;
  readonly model: SimModel;
  readonly workload: WorkloadDefaults;
}

const cache = new Map<string, SynthesizedModel>();

/** Synthesizes with these `-c` flags (cached). */
export function synth(flags: Record<string, string>): SynthesizedModel {
  const key = JSON.stringify(flags);
  let hit = cache.get(key);
  if (!hit) {
    const env = synthesizeEnvironment(flags);
    hit = { template: env.template, model: readSimModel(env.template), workload: env.config.workload };
    cache.set(key, hit);
  }
  return hit;
}

/** Synthesis of one environment takes a few seconds; hooks that synthesize get this long. */
export const SYNTH_TIMEOUT_MS = 120_000;
