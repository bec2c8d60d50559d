/**
 * EC2 Auto Scaling's capacity arithmetic for step and target tracking policies, as the user guide
 * documents it:
 * - step adjustments and adjustment types, including PercentChangeInCapacity rounding
 *   (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html, "Step
 *   adjustments", "Scaling adjustment types");
 * - instance warm-up: while scaling out, instances that are warming up are not part of the current
 *   capacity, so repeated breaches of the same step add nothing and a larger step adds only the
 *   difference; while scaling in, terminating instances still count, so nothing is removed twice
 *   (same page, "Instance warm-up");
 * - target tracking: scale out proportionally, rounding up; scale in only by whole instances whose
 *   removal keeps the metric at or under the target, rounding down
 *   (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html,
 *   "Considerations").
 */
import type { AdjustmentType, StepAdjustment, StepPolicyModel } from './model';

/** The group's capacity as the policies see it. */
export interface CapacityView {
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  /** InService, past warm-up, not terminating: the current capacity for scaling out. */
  readonly warmed: number;
  /** InService and not terminating (warmed or not). */
  readonly inService: number;
  /** Instances terminating (deregistering): still current capacity for scaling in. */
  readonly terminating: number;
}

/**
 * The step whose bounds (relative to the threshold) hold `value - threshold`. Above the threshold
 * the lower bound is inclusive and the upper exclusive; below it the reverse.
 */
export function matchStep(steps: readonly StepAdjustment[], value: number, threshold: number): StepAdjustment | undefined {
  const d = value - threshold;
  return steps.find((s) => {
    const lo = s.lower ?? -Infinity;
    const hi = s.upper ?? Infinity;
    if (d > 0) return lo <= d && d < hi;
    if (d < 0) return lo < d && d <= hi;
    return lo <= 0 && 0 <= hi;
  });
}

/**
 * Capacity change of a PercentChangeInCapacity adjustment: values above 1 round down, between 0 and
 * 1 become 1, between -1 and 0 become -1, below -1 round up; `MinAdjustmentMagnitude` is a floor.
 */
export function percentChange(base: number, percent: number, minMagnitude = 0): number {
  const raw = (base * percent) / 100;
  let change: number;
  if (raw > 1) change = Math.floor(raw);
  else if (raw > 0) change = 1;
  else if (raw === 0) change = 0;
  else if (raw > -1) change = -1;
  else change = Math.ceil(raw);
  if (minMagnitude > 0 && change !== 0 && Math.abs(change) < minMagnitude) change = Math.sign(change) * minMagnitude;
  return change;
}

/** Clamps a desired capacity to the group's bounds. */
export function clamp(view: Pick<CapacityView, 'min' | 'max'>, desired: number): number {
  return Math.min(view.max, Math.max(view.min, desired));
}

/**
 * The desired capacity after a step policy applies `adjustment`, or undefined when it changes
 * nothing. Scaling out counts only warmed instances as current capacity and never lowers the desired
 * capacity; scaling in counts terminating instances too and never raises it.
 */
export function applyStep(view: CapacityView, type: AdjustmentType, adjustment: number, minMagnitude?: number): number | undefined {
  let target: number;
  let out: boolean;
  if (type === 'ExactCapacity') {
    target = adjustment;
    out = adjustment > view.desired;
  } else {
    out = adjustment > 0;
    const base = out ? view.warmed : view.inService + view.terminating;
    const change = type === 'ChangeInCapacity' ? adjustment : percentChange(base, adjustment, minMagnitude);
    target = base + change;
  }
  const next = clamp(view, out ? Math.max(view.desired, target) : Math.min(view.desired, target));
  return next === view.desired ? undefined : next;
}

/** The aggregated value a step policy compares with its steps: `MetricAggregationType` of the datapoints. */
export function aggregate(values: readonly number[], how: StepPolicyModel['aggregation']): number | undefined {
  if (values.length === 0) return undefined;
  if (how === 'Minimum') return Math.min(...values);
  if (how === 'Maximum') return Math.max(...values);
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Target tracking scale-out: capacity proportional to metric / target over warmed instances, rounded up. */
export function trackingScaleOut(view: CapacityView, metric: number, target: number): number | undefined {
  if (view.warmed === 0 || metric <= target) return undefined;
  const next = clamp(view, Math.max(view.desired, Math.ceil((view.warmed * metric) / target - 1e-9)));
  return next === view.desired ? undefined : next;
}

/**
 * Target tracking scale-in: remove the whole instances whose removal keeps the metric at or under the
 * target (terminating instances count as capacity), never fewer than one when it scales in at all.
 */
export function trackingScaleIn(view: CapacityView, metric: number, target: number): number | undefined {
  const base = view.inService + view.terminating;
  if (base === 0) return undefined;
  const removable = Math.floor(base - (base * metric) / target + 1e-9);
  if (removable < 1) return undefined;
  const next = clamp(view, Math.min(view.desired, base - removable));
  return next === view.desired ? undefined : next;
}
