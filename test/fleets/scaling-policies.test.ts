import type { Template } from 'aws-cdk-lib/assertions';
import { Dimension, FleetMetric, metricsNamespace, ProxyMetric } from '../../contracts/metrics';
import { fleetAutoScalingGroupName } from '../../lib/constructs/model-fleet';
import { evaluate, evaluateQueries, MetricQuery, MetricRef, Value } from '../ops/metric-math';
import { all, buildEnvironment, fleetResources, refersTo } from './fixture';

/**
 * "No two policies fight": for a grid of steady loads, every scaling policy of a group is read from
 * the synthesized template and its alarm conditions evaluated; no load may make one policy want to
 * add capacity while another wants to remove it.
 */

/** A load held long enough for every alarm to settle (each evaluation window sees the same value). */
interface SteadyState {
  /** The group's desired capacity: instances in service, or booting when `booting`. */
  readonly capacity: number;
  /** The instances are still loading their models and publish no vLLM metric yet. */
  readonly booting: boolean;
  /** vLLM running requests per instance (Average over the instances). */
  readonly running: number;
  /** vLLM waiting requests per instance. */
  readonly waiting: number;
  /** Requests per alarm period the proxy found the tier without capacity. */
  readonly noCapacity: number;
}

type Direction = 'out' | 'in' | 'none';
type Resource = { Type: string; Properties: Record<string, any> };

/** One thing that decides to scale the group: a step policy's alarm, or a target-tracking policy. */
interface Decider {
  readonly name: string;
  decide(state: SteadyState): Direction;
  /** Numbers the decision turns on (thresholds, targets, expression literals): the grid includes them. */
  readonly criticalValues: number[];
}

/** The value CloudWatch would hold for `metric` in `state`; throws on a metric no policy should read. */
function metricValue(envName: string, fleet: string, state: SteadyState, metric: MetricRef): Value {
  const groupName = fleetAutoScalingGroupName(envName, fleet);
  const expectDimensions = (expected: Record<string, string>) => {
    if (JSON.stringify(metric.dimensions) !== JSON.stringify(expected)) {
      throw new Error(`${fleet}: a policy reads ${metric.metricName} with dimensions ${JSON.stringify(metric.dimensions)}, expected ${JSON.stringify(expected)}`);
    }
  };
  if (metric.namespace === metricsNamespace(envName) && (metric.metricName === FleetMetric.RequestsRunning || metric.metricName === FleetMetric.RequestsWaiting)) {
    expectDimensions({ [Dimension.AutoScalingGroupName]: groupName, [Dimension.Fleet]: fleet });
    if (metric.stat !== 'Average') throw new Error(`${fleet}: ${metric.metricName} read as ${metric.stat}, expected Average (per instance)`);
    // A group at zero, or whose instances are still loading, publishes nothing.
    if (state.capacity === 0 || state.booting) return undefined;
    return metric.metricName === FleetMetric.RequestsRunning ? state.running : state.waiting;
  }
  if (metric.namespace === metricsNamespace(envName) && metric.metricName === ProxyMetric.NoCapacityRequests) {
    expectDimensions({ [Dimension.Tier]: fleet });
    return state.noCapacity;
  }
  if (metric.namespace === metricsNamespace(envName) && metric.metricName === ProxyMetric.RoutedRequests) {
    expectDimensions({ [Dimension.Tier]: fleet });
    // Requests routed in the period: every one that found no capacity, and while instances serve, a
    // steady load routes about as many per period as it holds.
    return state.noCapacity + (state.capacity === 0 || state.booting ? 0 : state.running + state.waiting);
  }
  if (metric.namespace === metricsNamespace(envName) && metric.metricName === ProxyMetric.PendingRequests) {
    expectDimensions({ [Dimension.Tier]: fleet });
    // In flight at the proxy: everything the instances hold. A tier without capacity refuses at once,
    // so the sampled gauge stays at 0 there.
    return state.capacity === 0 || state.booting ? 0 : (state.running + state.waiting) * state.capacity;
  }
  if (metric.namespace === 'AWS/AutoScaling' && metric.metricName === 'GroupDesiredCapacity') {
    expectDimensions({ AutoScalingGroupName: groupName });
    return state.capacity;
  }
  throw new Error(`${fleet}: a policy reads ${metric.namespace} ${metric.metricName}, which this check does not model`);
}

function breaches(operator: string, value: number, threshold: number): boolean {
  switch (operator) {
    case 'GreaterThanOrEqualToThreshold': return value >= threshold;
    case 'GreaterThanThreshold': return value > threshold;
    case 'LessThanThreshold': return value < threshold;
    case 'LessThanOrEqualToThreshold': return value <= threshold;
    default: throw new Error(`unmodelled comparison ${operator}`);
  }
}

/** Numbers written in an expression. */
function literals(expression: string): number[] {
  return [...expression.matchAll(/(?<![A-Za-z_])\d+(?:\.\d+)?/g)].map((m) => Number(m[0]));
}

/** Every decider acting on the group `groupId`, read from the template. */
function decidersOf(template: Template, envName: string, fleet: string, groupId: string): Decider[] {
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const value = (state: SteadyState) => (metric: MetricRef) => metricValue(envName, fleet, state, metric);
  const deciders: Decider[] = [];
  for (const [policyId, policy] of all(template, 'AWS::AutoScaling::ScalingPolicy', (r) => refersTo(r.Properties.AutoScalingGroupName, groupId))) {
    const p = policy.Properties;
    if (p.PolicyType === 'TargetTrackingScaling') {
      const tt = p.TargetTrackingConfiguration;
      const spec = tt.CustomizedMetricSpecification;
      const read = (state: SteadyState): Value => (spec.Metrics
        ? evaluateQueries(spec.Metrics as MetricQuery[], value(state))
        : value(state)({
          namespace: spec.Namespace,
          metricName: spec.MetricName,
          dimensions: Object.fromEntries((spec.Dimensions ?? []).map((d: { Name: string; Value: unknown }) => [d.Name, d.Value])),
          stat: spec.Statistic,
        }));
      deciders.push({
        name: `${policyId} (target tracking, target ${tt.TargetValue})`,
        // Target tracking adds capacity only above the target and removes it only below (AWS scales in
        // once the metric is "usually more than 10%" under it; any value under the target is counted
        // as wanting in here, which is the stricter check).
        decide: (state) => {
          const m = read(state);
          if (m === undefined) return 'none';
          if (m > tt.TargetValue) return 'out';
          if (m < tt.TargetValue && tt.DisableScaleIn !== true) return 'in';
          return 'none';
        },
        criticalValues: [tt.TargetValue, ...(spec.Metrics ?? []).flatMap((q: MetricQuery) => (q.Expression ? literals(q.Expression) : []))],
      });
      continue;
    }
    if (p.PolicyType !== 'StepScaling') throw new Error(`${policyId}: unmodelled policy type ${p.PolicyType}`);
    const alarms = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm'
      && (r.Properties.AlarmActions ?? []).some((a: unknown) => JSON.stringify(a) === JSON.stringify({ Ref: policyId })));
    expect(alarms.length).toBeGreaterThan(0);
    for (const [alarmId, alarm] of alarms) {
      const a = alarm.Properties;
      const read = (state: SteadyState): Value => (a.Metrics
        ? evaluateQueries(a.Metrics as MetricQuery[], value(state))
        : value(state)({
          namespace: a.Namespace,
          metricName: a.MetricName,
          dimensions: Object.fromEntries((a.Dimensions ?? []).map((d: { Name: string; Value: unknown }) => [d.Name, d.Value])),
          stat: a.Statistic,
        }));
      deciders.push({
        name: `${alarmId} -> ${policyId} (step)`,
        decide: (state) => {
          const v = read(state);
          const inAlarm = v === undefined ? a.TreatMissingData === 'breaching' : breaches(a.ComparisonOperator, v, a.Threshold);
          if (!inAlarm) return 'none';
          // Above the threshold a step's lower bound is inclusive and its upper exclusive; below it,
          // the other way round (as-scaling-simple-step.html).
          const diff = (v ?? a.Threshold) - a.Threshold;
          const step = (p.StepAdjustments as { MetricIntervalLowerBound?: number; MetricIntervalUpperBound?: number; ScalingAdjustment: number }[])
            .find((s) => {
              const lo = s.MetricIntervalLowerBound ?? -Infinity;
              const hi = s.MetricIntervalUpperBound ?? Infinity;
              return diff >= 0 ? lo <= diff && diff < hi : lo < diff && diff <= hi;
            });
          if (!step) return 'none';
          const change = p.AdjustmentType === 'ExactCapacity' ? step.ScalingAdjustment - state.capacity : step.ScalingAdjustment;
          return change > 0 ? 'out' : change < 0 ? 'in' : 'none';
        },
        criticalValues: [a.Threshold, ...(p.StepAdjustments ?? []).flatMap((s: Record<string, number>) => [s.MetricIntervalLowerBound, s.MetricIntervalUpperBound])
          .filter((b: number | undefined) => b !== undefined).map((b: number) => a.Threshold + b),
        ...(a.Metrics ?? []).flatMap((q: MetricQuery) => (q.Expression ? literals(q.Expression) : []))],
      });
    }
  }
  return deciders;
}

/** The grid: round values, and each critical value with its neighbours just below and above. */
function gridValues(critical: number[]): number[] {
  const base = [0, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
  const near = critical.flatMap((c) => [c - 0.01, c, c + 0.01]).filter((v) => v >= 0);
  return [...new Set([...base, ...near])].sort((a, b) => a - b);
}

/** Every steady state of the grid with the direction each decider wants. */
function sweep(deciders: Decider[]) {
  const values = gridValues(deciders.flatMap((d) => d.criticalValues));
  const noCapacity = [0, 1, 5];
  const rows: { state: SteadyState; wants: Record<string, Direction> }[] = [];
  const add = (state: SteadyState) => rows.push({ state, wants: Object.fromEntries(deciders.map((d) => [d.name, d.decide(state)])) });
  for (const n of noCapacity) {
    add({ capacity: 0, booting: false, running: 0, waiting: 0, noCapacity: n });
    for (const capacity of [1, 2, 3]) {
      add({ capacity, booting: true, running: 0, waiting: 0, noCapacity: n });
      for (const running of values) {
        for (const waiting of values) add({ capacity, booting: false, running, waiting, noCapacity: n });
      }
    }
  }
  return rows;
}

describe.each(['dev', 'staging', 'prod'] as const)('%s: no two scaling policies act against each other', (envName) => {
  const { config, specs, template } = buildEnvironment(envName);

  describe.each(specs.map((s) => [s.name, s] as const))('%s', (fleet, spec) => {
    const { groupId } = fleetResources(template, fleetAutoScalingGroupName(envName, fleet));
    const deciders = decidersOf(template, envName, fleet, groupId);
    const rows = sweep(deciders);

    test('no steady load makes one policy scale out while another scales in', () => {
      const fights = rows.filter((r) => Object.values(r.wants).includes('out') && Object.values(r.wants).includes('in'))
        .slice(0, 5)
        .map((r) => `${JSON.stringify(r.state)}: ${JSON.stringify(r.wants)}`);
      expect(fights).toEqual([]);
    });

    test('the grid exercises every policy: each one acts on some load, and something scales in', () => {
      expect(rows.length).toBeGreaterThan(1000);
      for (const d of deciders) {
        expect({ decider: d.name, acts: rows.some((r) => r.wants[d.name] !== 'none') }).toEqual({ decider: d.name, acts: true });
      }
      expect(rows.some((r) => Object.values(r.wants).includes('in'))).toBe(true);
    });

    test('a queue that stays at the burst threshold adds capacity and never removes it, however few requests run', () => {
      const queued = rows.filter((r) => r.state.capacity > 0 && !r.state.booting && r.state.waiting >= config.scaling.queueDepthScaleOut && r.state.running <= 1);
      expect(queued.length).toBeGreaterThan(0);
      for (const r of queued) {
        expect(Object.values(r.wants)).toContain('out');
        expect(Object.values(r.wants)).not.toContain('in');
      }
    });

    test('steady full load with an empty queue is never scaled in', () => {
      const maxSeqs = spec.servers.reduce((sum, s) => sum + s.maxNumSeqs, 0);
      const full = rows.filter((r) => r.state.capacity > 0 && !r.state.booting && r.state.waiting === 0 && r.state.running >= 0.7 * maxSeqs);
      expect(full.length).toBeGreaterThan(0);
      for (const r of full) expect(Object.values(r.wants)).not.toContain('in');
    });

    if (spec.kind === 'tier' && spec.minCapacity === 0) {
      test('at zero instances, one request that found no capacity starts an instance; while it boots, nothing more is added', () => {
        const start = rows.find((r) => r.state.capacity === 0 && r.state.noCapacity === 1);
        expect(Object.values(start!.wants)).toContain('out');
        const idle = rows.find((r) => r.state.capacity === 0 && r.state.noCapacity === 0);
        expect(Object.values(idle!.wants)).not.toContain('out');
        const booting = rows.filter((r) => r.state.booting && r.state.noCapacity > 0);
        expect(booting.length).toBeGreaterThan(0);
        for (const r of booting) expect(Object.values(r.wants)).toEqual(Object.values(r.wants).map(() => 'none'));
      });
    }
  });
});

describe('the evaluator behind the check', () => {
  test('reads the target-tracking expression as CloudWatch would', () => {
    const lookup = (values: Record<string, Value>) => (id: string) => values[id];
    const expr = 'IF(waiting >= 1 AND load < 89.6, 89.6, load)';
    expect(evaluate(expr, lookup({ waiting: 0, load: 40 }))).toBe(40);
    expect(evaluate(expr, lookup({ waiting: 5, load: 40 }))).toBe(89.6);
    expect(evaluate(expr, lookup({ waiting: 5, load: 140 }))).toBe(140);
  });
});
