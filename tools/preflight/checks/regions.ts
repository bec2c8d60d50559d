/** The regions a deploy of one environment touches. */
import type { EnvConfig } from '../../../lib/config/schema';
import { COST_STACK_REGION } from '../../../lib/cost-stack';

/** One region a deploy writes to, and why. */
export interface TargetRegion {
  readonly region: string;
  readonly purpose: string;
}

/** The environment's region, plus us-east-1 for the cost stack where `alarms.costGuardEnabled`. */
export function targetRegions(cfg: EnvConfig): TargetRegion[] {
  if (!cfg.alarms.costGuardEnabled) return [{ region: cfg.region, purpose: 'environment' }];
  if (cfg.region === COST_STACK_REGION) return [{ region: cfg.region, purpose: 'environment and cost stack' }];
  return [{ region: cfg.region, purpose: 'environment' }, { region: COST_STACK_REGION, purpose: 'cost stack' }];
}
