/**
 * What the simulator reads from a synthesized environment template: every Auto Scaling group with
 * its capacity bounds, health-check grace, default instance warmup, instance type and vLLM servers
 * (from the launch template's user data), its step and target-tracking policies, the alarms that
 * invoke the step policies, its scheduled actions; the proxy's tiers, routing thresholds and
 * empty-tier behaviour (from the task definition's `LLM_ROUTER_CONFIG`); and the pre-warm schedules.
 * Nothing is read from the CDK config: what is simulated is what would deploy.
 */
import { AlarmRule, COMPARISON_OPERATORS, ComparisonOperator, TREAT_MISSING_DATA, TreatMissingData } from './alarm';
import { isObject, TemplateError, TemplateReader } from './cfn';
import { Expr, parseExpression, referencedIds } from './metric-math';
import { INSTANCE_CATALOG } from '../../lib/catalog/instances';
import { ROUTER_FLEET_NAME } from '../../contracts/metrics';
import { fallbackTierIndex, parseProxyConfig, proxyConfigSchema, tierBoundaries, tierWhenEmpty } from '../../contracts/proxy-config';
import { formatValue } from '../../contracts/validation';

/** A CloudWatch metric: namespace, name and dimensions. */
export interface MetricId {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** Statistics the simulator computes. */
export type Statistic = 'Average' | 'Sum' | 'Maximum' | 'Minimum' | 'SampleCount';
const STATISTICS: readonly Statistic[] = ['Average', 'Sum', 'Maximum', 'Minimum', 'SampleCount'];

/** One datapoint per period: a statistic of one metric, or a metric math expression over others. */
export type MetricQuery =
  | { readonly kind: 'stat'; readonly metric: MetricId; readonly stat: Statistic; readonly period: number }
  | { readonly kind: 'math'; readonly period: number; readonly text: string; readonly expr: Expr; readonly inputs: Readonly<Record<string, MetricQuery>> };

/** An alarm that invokes a step scaling policy. */
export interface AlarmModel extends AlarmRule {
  readonly logicalId: string;
  readonly query: MetricQuery;
}

/** `AdjustmentType` of a step policy. */
export type AdjustmentType = 'ChangeInCapacity' | 'ExactCapacity' | 'PercentChangeInCapacity';

/** One step adjustment; bounds are relative to the alarm threshold. */
export interface StepAdjustment {
  readonly lower?: number;
  readonly upper?: number;
  readonly adjustment: number;
}

/** A step scaling policy and the alarms that invoke it. */
export interface StepPolicyModel {
  readonly logicalId: string;
  readonly adjustmentType: AdjustmentType;
  readonly minAdjustmentMagnitude?: number;
  readonly steps: readonly StepAdjustment[];
  /** How the most recent datapoints are aggregated to pick a step (`MetricAggregationType`). */
  readonly aggregation: 'Average' | 'Minimum' | 'Maximum';
  /** `EstimatedInstanceWarmup`, overriding the group's default instance warmup. */
  readonly warmupSeconds?: number;
  readonly alarms: readonly AlarmModel[];
}

/** A target tracking policy on a customized metric. */
export interface TrackingPolicyModel {
  readonly logicalId: string;
  readonly targetValue: number;
  readonly disableScaleIn: boolean;
  readonly query: MetricQuery;
  readonly warmupSeconds?: number;
}

/** A scheduled action (recurring). */
export interface ScheduledActionModel {
  readonly logicalId: string;
  readonly recurrence: string;
  readonly timeZone: string;
  readonly minSize?: number;
  readonly maxSize?: number;
  readonly desiredCapacity?: number;
}

/** One vLLM server every instance of a fleet runs. */
export interface ServerModel {
  readonly role: string;
  readonly port: number;
  readonly hubModelId: string;
  readonly servedModelName: string;
  readonly maxNumSeqs: number;
  readonly maxModelLen?: number;
}

/** One Auto Scaling group of GPU instances. */
export interface FleetModel {
  /** `router` or the tier name (the `FLEET` the instance's user data sets). */
  readonly name: string;
  readonly kind: 'router' | 'tier';
  readonly logicalId: string;
  readonly groupName: string;
  readonly minSize: number;
  readonly maxSize: number;
  /** `DesiredCapacity` when the template sets one (the project never does). */
  readonly desiredCapacity?: number;
  readonly healthCheckType: 'EC2' | 'ELB';
  readonly healthCheckGraceSeconds: number;
  /** `DefaultInstanceWarmup`; undefined when the group does not enable it. */
  readonly defaultInstanceWarmupSeconds?: number;
  readonly instanceType: string;
  readonly usdPerHour: number;
  /** Provisioned throughput of the launch template's root gp3 volume (the image is extracted onto it). */
  readonly rootVolumeThroughputMiBps?: number;
  readonly servers: readonly ServerModel[];
  /** Target-group health checks: seconds between checks and passes needed to become healthy. */
  readonly healthCheckIntervalSeconds: number;
  readonly healthyThresholdCount: number;
  /** Longest deregistration delay of the fleet's target groups. */
  readonly deregistrationDelaySeconds: number;
  readonly stepPolicies: readonly StepPolicyModel[];
  readonly trackingPolicies: readonly TrackingPolicyModel[];
  readonly scheduledActions: readonly ScheduledActionModel[];
}

/** What the proxy does with a request whose tier has no healthy instance (contracts/proxy-config.ts `whenEmpty`). */
export type WhenEmpty = 'hold' | 'spill';

/** One tier as the proxy sees it. */
export interface ProxyTierModel {
  readonly name: string;
  /**
   * `hold`: a bounded per-tier queue for up to `maxHoldMs` while the tier starts, then 503 with
   * Retry-After; `spill`: the next tier in the dispatcher's failover order (larger tiers first,
   * then smaller ones). As the proxy resolves it: the document's value, else `hold` for the last
   * tier and `spill` for the others (`tierWhenEmpty`).
   */
  readonly whenEmpty: WhenEmpty;
  readonly maxHoldMs: number;
  /** Held requests per proxy task. */
  readonly holdQueueSize: number;
}

/** The routing proxy's behaviour. */
export interface ProxyModel {
  /** Cheapest first, as the proxy orders them. */
  readonly tiers: readonly ProxyTierModel[];
  /** Score boundaries between consecutive tiers. */
  readonly boundaries: readonly number[];
  /** Index of the tier that serves when scoring fails. */
  readonly fallbackTier: number;
  /**
   * A streamed request that has not sent its first content byte this long after dispatch is ended
   * (`dispatch.firstTokenTimeoutMs`): the proxy keeps the client's stream open with SSE comment
   * lines while the request waits in a vLLM queue, so this, not the idle deadline, bounds that wait.
   */
  readonly firstTokenTimeoutMs: number;
  /** A streamed answer silent this long between two chunks after the first is ended with an SSE error. */
  readonly streamIdleTimeoutMs: number;
  /** Deadline of a non-streamed answer. */
  readonly nonStreamTimeoutMs: number;
  readonly namespace: string;
  /** Proxy tasks (the service's minimum): each publishes its own metrics. */
  readonly tasks: number;
  /** Notes on what was assumed while reading the document. */
  readonly notes: readonly string[];
}

/** One pre-warm schedule (an environment has one per window of the week). */
export interface PrewarmModel {
  readonly logicalId: string;
  readonly expression: string;
  readonly timeZone: string;
  /** Fleets the function warms. */
  readonly fleets: readonly string[];
}

/** Everything the simulator runs. */
export interface SimModel {
  readonly namespace: string;
  /** The router first, then the tiers in the proxy's order. */
  readonly fleets: readonly FleetModel[];
  readonly proxy: ProxyModel;
  /** Every enabled pre-warm schedule (none when pre-warm is off). */
  readonly prewarms: readonly PrewarmModel[];
}

const res = (id: string, prop: string) => `Resources.${id}.Properties.${prop}`;

/** Reads the simulation model from a synthesized environment template. */
export function readSimModel(template: unknown): SimModel {
  const t = new TemplateReader(template as never);
  const proxy = readProxy(t);
  const groups = t.ofType('AWS::AutoScaling::AutoScalingGroup');
  if (groups.length === 0) throw new TemplateError(['Resources: got no AWS::AutoScaling::AutoScalingGroup, expected one group per fleet']);
  const fleets = groups.map(([id]) => readFleet(t, id));
  attachPolicies(t, fleets);
  const byName = new Map(fleets.map((f) => [f.name, f]));
  for (const tier of proxy.tiers) {
    if (!byName.has(tier.name)) {
      throw new TemplateError([`LLM_ROUTER_CONFIG.tiers: got tier "${tier.name}", expected an Auto Scaling group whose user data sets FLEET='${tier.name}' (found ${fleets.map((f) => f.name).join(', ')})`]);
    }
  }
  const router = fleets.filter((f) => f.kind === 'router');
  const ordered = [...router, ...proxy.tiers.map((tier) => byName.get(tier.name) as MutableFleet)];
  const extra = fleets.filter((f) => !ordered.includes(f));
  if (extra.length > 0) {
    throw new TemplateError(extra.map((f) => `Resources.${f.logicalId}: got fleet "${f.name}", expected the router or a tier of LLM_ROUTER_CONFIG (${proxy.tiers.map((x) => x.name).join(', ')})`));
  }
  return { namespace: proxy.namespace, fleets: ordered, proxy, prewarms: readPrewarms(t) };
}

type MutableFleet = FleetModel & { stepPolicies: StepPolicyModel[]; trackingPolicies: TrackingPolicyModel[]; scheduledActions: ScheduledActionModel[] };

function readFleet(t: TemplateReader, id: string): MutableFleet {
  const p = (prop: string) => t.raw(id, prop);
  if (p('MixedInstancesPolicy') !== undefined) throw new TemplateError([`${res(id, 'MixedInstancesPolicy')}: got a mixed instances policy, expected one launch template (mixed instance types are not modelled)`]);
  const ltRef = isObject(p('LaunchTemplate')) ? (p('LaunchTemplate') as Record<string, unknown>).LaunchTemplateId : undefined;
  const ltId = t.refTarget(ltRef);
  if (!ltId) throw new TemplateError([`${res(id, 'LaunchTemplate.LaunchTemplateId')}: got ${formatValue(ltRef)}, expected a Ref to an AWS::EC2::LaunchTemplate of this template`]);
  const data = t.raw(ltId, 'LaunchTemplateData');
  if (!isObject(data)) throw new TemplateError([`${res(ltId, 'LaunchTemplateData')}: got ${formatValue(data)}, expected launch template data`]);
  const instanceType = t.string(data.InstanceType, res(ltId, 'LaunchTemplateData.InstanceType'));
  const spec = INSTANCE_CATALOG[instanceType];
  if (!spec) throw new TemplateError([`${res(ltId, 'LaunchTemplateData.InstanceType')}: got "${instanceType}", expected a catalogued GPU instance type`]);
  const userData = t.string(data.UserData, res(ltId, 'LaunchTemplateData.UserData'));
  const rootVolumeThroughputMiBps = readRootThroughput(t, data.BlockDeviceMappings, res(ltId, 'LaunchTemplateData.BlockDeviceMappings'));
  const { fleet, servers } = readUserData(userData, res(ltId, 'LaunchTemplateData.UserData'));

  const tgIds = (Array.isArray(p('TargetGroupARNs')) ? (p('TargetGroupARNs') as unknown[]) : []).map((v, i) => {
    const tg = t.refTarget(v);
    if (!tg) throw new TemplateError([`${res(id, `TargetGroupARNs[${i}]`)}: got ${formatValue(v)}, expected a Ref to a target group of this template`]);
    return tg;
  });
  let interval = 0;
  let threshold = 0;
  let deregistration = 0;
  for (const tg of tgIds) {
    interval = Math.max(interval, t.optionalNumber(t.raw(tg, 'HealthCheckIntervalSeconds'), res(tg, 'HealthCheckIntervalSeconds')) ?? 30);
    threshold = Math.max(threshold, t.optionalNumber(t.raw(tg, 'HealthyThresholdCount'), res(tg, 'HealthyThresholdCount')) ?? 5);
    const attrs = (t.raw(tg, 'TargetGroupAttributes') as Array<{ Key: string; Value: unknown }> | undefined) ?? [];
    const delay = attrs.find((a) => a.Key === 'deregistration_delay.timeout_seconds');
    deregistration = Math.max(deregistration, delay ? t.number(delay.Value, res(tg, 'TargetGroupAttributes.deregistration_delay.timeout_seconds')) : 300);
  }
  const healthCheckType = (t.resolve(p('HealthCheckType'), res(id, 'HealthCheckType')) ?? 'EC2') as string;
  if (healthCheckType !== 'EC2' && healthCheckType !== 'ELB') {
    throw new TemplateError([`${res(id, 'HealthCheckType')}: got ${formatValue(healthCheckType)}, expected EC2 or ELB`]);
  }
  const groupName = t.string(p('AutoScalingGroupName') ?? `{{Ref:${id}}}`, res(id, 'AutoScalingGroupName'));
  return {
    name: fleet,
    kind: fleet === ROUTER_FLEET_NAME ? 'router' : 'tier',
    logicalId: id,
    groupName,
    minSize: t.number(p('MinSize'), res(id, 'MinSize')),
    maxSize: t.number(p('MaxSize'), res(id, 'MaxSize')),
    desiredCapacity: t.optionalNumber(p('DesiredCapacity'), res(id, 'DesiredCapacity')),
    healthCheckType,
    // CloudFormation's default grace is 0 s (the console's 300 s does not apply to templates).
    healthCheckGraceSeconds: t.optionalNumber(p('HealthCheckGracePeriod'), res(id, 'HealthCheckGracePeriod')) ?? 0,
    defaultInstanceWarmupSeconds: t.optionalNumber(p('DefaultInstanceWarmup'), res(id, 'DefaultInstanceWarmup')),
    instanceType,
    usdPerHour: spec.usdPerHour,
    rootVolumeThroughputMiBps,
    servers,
    healthCheckIntervalSeconds: tgIds.length ? interval : 0,
    healthyThresholdCount: tgIds.length ? threshold : 0,
    deregistrationDelaySeconds: tgIds.length ? deregistration : 0,
    stepPolicies: [],
    trackingPolicies: [],
    scheduledActions: [],
  };
}

/**
 * Throughput of the root gp3 volume (the first block device), MiB/s: a gp3 volume without the
 * property gets the 125 MiB/s baseline; undefined when the template maps no EBS volume.
 */
function readRootThroughput(t: TemplateReader, mappings: unknown, path: string): number | undefined {
  if (!Array.isArray(mappings) || mappings.length === 0 || !isObject(mappings[0]) || !isObject(mappings[0].Ebs)) return undefined;
  const ebs = mappings[0].Ebs;
  const given = t.optionalNumber(ebs.Throughput, `${path}[0].Ebs.Throughput`);
  return given ?? (ebs.VolumeType === 'gp3' ? 125 : undefined);
}

/**
 * The fleet name (`FLEET='...'`) and the vLLM servers of a boot script: `SERVER_ROLES` and
 * `SERVER_PORTS` list them in start order, each server's `VLLM_ARGS` carry its flags.
 */
export function readUserData(script: string, path: string): { fleet: string; servers: ServerModel[] } {
  const unq = script.replace(/'\\''/g, "'");
  const fleet = /^FLEET='([^']+)'$/m.exec(unq)?.[1];
  if (!fleet) throw new TemplateError([`${path}: got a boot script without FLEET='<name>', expected the project's fleet boot script`]);
  const list = (name: string): string[] => {
    const m = new RegExp(`^${name}=\\(([^)]*)\\)$`, 'm').exec(unq);
    if (!m) throw new TemplateError([`${path}: got a boot script without ${name}=(...), expected the project's fleet boot script`]);
    return [...m[1].matchAll(/'([^']*)'/g)].map((x) => x[1]);
  };
  const roles = list('SERVER_ROLES');
  const ports = list('SERVER_PORTS').map(Number);
  const argSets = [...unq.matchAll(/^VLLM_ARGS=\((.*)\)$/gm)].map((m) => [...m[1].matchAll(/'([^']*)'/g)].map((x) => x[1]));
  const servers = roles.map((role, i) => {
    const args = argSets.find((a) => flag(a, '--port') === String(ports[i]));
    if (!args) throw new TemplateError([`${path}: got no VLLM_ARGS with --port ${ports[i]}, expected the flags of the ${role} server`]);
    const maxNumSeqs = Number(flag(args, '--max-num-seqs'));
    if (!Number.isInteger(maxNumSeqs) || maxNumSeqs < 1) {
      throw new TemplateError([`${path}: got --max-num-seqs ${formatValue(flag(args, '--max-num-seqs'))} for the ${role} server, expected a positive integer (its sequence limit sets the instance's capacity)`]);
    }
    const model = flag(args, '--model');
    if (!model) throw new TemplateError([`${path}: got no --model for the ${role} server, expected a Hugging Face model id`]);
    const maxModelLen = flag(args, '--max-model-len');
    return {
      role,
      port: ports[i],
      hubModelId: model,
      servedModelName: flag(args, '--served-model-name') ?? model,
      maxNumSeqs,
      maxModelLen: maxModelLen === undefined ? undefined : Number(maxModelLen),
    };
  });
  return { fleet, servers };
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function attachPolicies(t: TemplateReader, fleets: MutableFleet[]): void {
  const fleetOf = (value: unknown, path: string): MutableFleet => {
    const name = t.string(value, path);
    const f = fleets.find((x) => x.groupName === name);
    if (!f) throw new TemplateError([`${path}: got "${name}", expected the name of one of the template's groups (${fleets.map((x) => x.groupName).join(', ')})`]);
    return f;
  };
  const alarmsByPolicy = new Map<string, AlarmModel[]>();
  for (const [id, alarm] of t.ofType('AWS::CloudWatch::Alarm')) {
    const props = alarm.Properties ?? {};
    const policyRef = (list: unknown): string[] => (Array.isArray(list) ? list : [])
      .map((a) => t.refTarget(a))
      .filter((x): x is string => x !== undefined && t.get(x)?.Type === 'AWS::AutoScaling::ScalingPolicy');
    for (const key of ['OKActions', 'InsufficientDataActions']) {
      if (policyRef(props[key]).length > 0) {
        throw new TemplateError([`${res(id, key)}: got a scaling policy, expected scaling policies in AlarmActions only (actions in other states are not modelled)`]);
      }
    }
    const policies = policyRef(props.AlarmActions);
    if (policies.length === 0) continue;
    if (props.ActionsEnabled === false) continue;
    const model = readAlarm(t, id);
    for (const p of policies) alarmsByPolicy.set(p, [...(alarmsByPolicy.get(p) ?? []), model]);
  }

  for (const [id, policy] of t.ofType('AWS::AutoScaling::ScalingPolicy')) {
    const props = policy.Properties ?? {};
    const fleet = fleetOf(props.AutoScalingGroupName, res(id, 'AutoScalingGroupName'));
    const type = props.PolicyType ?? 'SimpleScaling';
    const warmupSeconds = t.optionalNumber(props.EstimatedInstanceWarmup, res(id, 'EstimatedInstanceWarmup'));
    if (type === 'StepScaling') {
      const adjustmentType = props.AdjustmentType as AdjustmentType;
      if (!['ChangeInCapacity', 'ExactCapacity', 'PercentChangeInCapacity'].includes(adjustmentType)) {
        throw new TemplateError([`${res(id, 'AdjustmentType')}: got ${formatValue(props.AdjustmentType)}, expected ChangeInCapacity, ExactCapacity or PercentChangeInCapacity`]);
      }
      const rawSteps = props.StepAdjustments;
      if (!Array.isArray(rawSteps) || rawSteps.length === 0) throw new TemplateError([`${res(id, 'StepAdjustments')}: got ${formatValue(rawSteps)}, expected at least one step adjustment`]);
      const steps = rawSteps.map((s: Record<string, unknown>, i: number) => ({
        lower: t.optionalNumber(s.MetricIntervalLowerBound, res(id, `StepAdjustments[${i}].MetricIntervalLowerBound`)),
        upper: t.optionalNumber(s.MetricIntervalUpperBound, res(id, `StepAdjustments[${i}].MetricIntervalUpperBound`)),
        adjustment: t.number(s.ScalingAdjustment, res(id, `StepAdjustments[${i}].ScalingAdjustment`)),
      }));
      const aggregation = (props.MetricAggregationType ?? 'Average') as StepPolicyModel['aggregation'];
      if (!['Average', 'Minimum', 'Maximum'].includes(aggregation)) {
        throw new TemplateError([`${res(id, 'MetricAggregationType')}: got ${formatValue(aggregation)}, expected Average, Minimum or Maximum`]);
      }
      fleet.stepPolicies.push({
        logicalId: id,
        adjustmentType,
        minAdjustmentMagnitude: t.optionalNumber(props.MinAdjustmentMagnitude, res(id, 'MinAdjustmentMagnitude')),
        steps,
        aggregation,
        warmupSeconds,
        alarms: alarmsByPolicy.get(id) ?? [],
      });
    } else if (type === 'TargetTrackingScaling') {
      const cfg = props.TargetTrackingConfiguration;
      if (!isObject(cfg)) throw new TemplateError([`${res(id, 'TargetTrackingConfiguration')}: got ${formatValue(cfg)}, expected a target tracking configuration`]);
      if (cfg.PredefinedMetricSpecification !== undefined) {
        throw new TemplateError([`${res(id, 'TargetTrackingConfiguration.PredefinedMetricSpecification')}: got a predefined metric, expected a CustomizedMetricSpecification (CPU, network and ALB request metrics are not modelled)`]);
      }
      fleet.trackingPolicies.push({
        logicalId: id,
        targetValue: t.number(cfg.TargetValue, res(id, 'TargetTrackingConfiguration.TargetValue')),
        disableScaleIn: t.resolve(cfg.DisableScaleIn, res(id, 'TargetTrackingConfiguration.DisableScaleIn')) === true
          || t.resolve(cfg.DisableScaleIn, res(id, 'TargetTrackingConfiguration.DisableScaleIn')) === 'true',
        query: readTrackingMetric(t, cfg.CustomizedMetricSpecification, res(id, 'TargetTrackingConfiguration.CustomizedMetricSpecification')),
        warmupSeconds,
      });
    } else {
      throw new TemplateError([`${res(id, 'PolicyType')}: got ${formatValue(type)}, expected StepScaling or TargetTrackingScaling (simple and predictive scaling are not modelled)`]);
    }
  }
  for (const f of fleets) {
    for (const p of f.stepPolicies) {
      if (p.alarms.length === 0) throw new TemplateError([`Resources.${p.logicalId}: got a step policy no alarm invokes, expected an AWS::CloudWatch::Alarm with it in AlarmActions`]);
    }
  }

  for (const [id, action] of t.ofType('AWS::AutoScaling::ScheduledAction')) {
    const props = action.Properties ?? {};
    const fleet = fleetOf(props.AutoScalingGroupName, res(id, 'AutoScalingGroupName'));
    if (typeof props.Recurrence !== 'string') {
      throw new TemplateError([`${res(id, 'Recurrence')}: got ${formatValue(props.Recurrence)}, expected a cron recurrence (one-time actions are not modelled)`]);
    }
    fleet.scheduledActions.push({
      logicalId: id,
      recurrence: props.Recurrence,
      timeZone: props.TimeZone === undefined ? 'UTC' : t.string(props.TimeZone, res(id, 'TimeZone')),
      minSize: t.optionalNumber(props.MinSize, res(id, 'MinSize')),
      maxSize: t.optionalNumber(props.MaxSize, res(id, 'MaxSize')),
      desiredCapacity: t.optionalNumber(props.DesiredCapacity, res(id, 'DesiredCapacity')),
    });
  }
}

function readAlarm(t: TemplateReader, id: string): AlarmModel {
  const props = t.get(id)?.Properties ?? {};
  const at = (k: string) => res(id, k);
  const comparison = props.ComparisonOperator as ComparisonOperator;
  if (!COMPARISON_OPERATORS.includes(comparison)) {
    throw new TemplateError([`${at('ComparisonOperator')}: got ${formatValue(props.ComparisonOperator)}, expected one of ${COMPARISON_OPERATORS.join(', ')} (anomaly detection bands are not modelled)`]);
  }
  const treat = (props.TreatMissingData ?? 'missing') as TreatMissingData;
  if (!TREAT_MISSING_DATA.includes(treat)) throw new TemplateError([`${at('TreatMissingData')}: got ${formatValue(treat)}, expected one of ${TREAT_MISSING_DATA.join(', ')}`]);
  if (props.ExtendedStatistic !== undefined) throw new TemplateError([`${at('ExtendedStatistic')}: got ${formatValue(props.ExtendedStatistic)}, expected a plain statistic (percentiles are not modelled)`]);
  let query: MetricQuery;
  if (props.Metrics !== undefined) {
    query = readMetricList(t, props.Metrics, at('Metrics'), 'alarm');
  } else {
    const period = t.number(props.Period, at('Period'));
    query = {
      kind: 'stat',
      metric: readMetricId(t, props, `Resources.${id}.Properties`),
      stat: readStat(props.Statistic, at('Statistic')),
      period: checkPeriod(period, at('Period'), [10, 20, 30]),
    };
  }
  const evaluationPeriods = t.number(props.EvaluationPeriods, at('EvaluationPeriods'));
  return {
    logicalId: id,
    period: query.period,
    evaluationPeriods,
    datapointsToAlarm: t.optionalNumber(props.DatapointsToAlarm, at('DatapointsToAlarm')) ?? evaluationPeriods,
    threshold: t.number(props.Threshold, at('Threshold')),
    comparison,
    treatMissingData: treat,
    query,
  };
}

function readTrackingMetric(t: TemplateReader, spec: unknown, path: string): MetricQuery {
  if (!isObject(spec)) throw new TemplateError([`${path}: got ${formatValue(spec)}, expected a customized metric`]);
  if (spec.Metrics !== undefined) return readMetricList(t, spec.Metrics, `${path}.Metrics`, 'tracking');
  const period = t.optionalNumber(spec.Period, `${path}.Period`) ?? 60;
  return {
    kind: 'stat',
    metric: readMetricId(t, spec, path),
    stat: readStat(spec.Statistic, `${path}.Statistic`),
    period: checkPeriod(period, `${path}.Period`, [10, 30, 60], true),
  };
}

function readMetricId(t: TemplateReader, m: Record<string, unknown>, path: string): MetricId {
  const dims: Record<string, string> = {};
  const list = m.Dimensions === undefined ? [] : m.Dimensions;
  if (!Array.isArray(list)) throw new TemplateError([`${path}.Dimensions: got ${formatValue(list)}, expected a list of {Name, Value}`]);
  list.forEach((d: Record<string, unknown>, i: number) => {
    dims[t.string(d.Name, `${path}.Dimensions[${i}].Name`)] = t.string(d.Value, `${path}.Dimensions[${i}].Value`);
  });
  return {
    namespace: t.string(m.Namespace, `${path}.Namespace`),
    metricName: t.string(m.MetricName, `${path}.MetricName`),
    dimensions: dims,
  };
}

function readStat(v: unknown, path: string): Statistic {
  if (!STATISTICS.includes(v as Statistic)) throw new TemplateError([`${path}: got ${formatValue(v)}, expected one of ${STATISTICS.join(', ')} (percentiles are not modelled)`]);
  return v as Statistic;
}

function checkPeriod(period: number, path: string, subMinute: readonly number[], maxMinute = false): number {
  const ok = subMinute.includes(period) || (period % 60 === 0 && period > 0 && (!maxMinute || period === 60));
  if (!ok) throw new TemplateError([`${path}: got ${period}, expected ${subMinute.join(', ')} or ${maxMinute ? '60' : 'a multiple of 60'}`]);
  return period;
}

/** A `Metrics` list (alarm or target tracking): queries by id, the one with ReturnData is the result. */
function readMetricList(t: TemplateReader, list: unknown, path: string, owner: 'alarm' | 'tracking'): MetricQuery {
  if (!Array.isArray(list) || list.length === 0) throw new TemplateError([`${path}: got ${formatValue(list)}, expected a list of metric queries`]);
  const raw = new Map<string, { item: Record<string, unknown>; at: string }>();
  list.forEach((item: unknown, i: number) => {
    const at = `${path}[${i}]`;
    if (!isObject(item) || typeof item.Id !== 'string') throw new TemplateError([`${at}: got ${formatValue(item)}, expected a query with an Id`]);
    raw.set(item.Id, { item, at });
  });
  const returning = [...raw.values()].filter(({ item }) => item.ReturnData !== false);
  const result = returning.length === 1 ? returning[0] : [...raw.values()].filter(({ item }) => item.ReturnData === true)[0];
  if (!result) throw new TemplateError([`${path}: got ${returning.length} queries that return data, expected exactly one`]);
  const built = new Map<string, MetricQuery>();
  const build = (id: string, stack: string[]): MetricQuery => {
    const done = built.get(id);
    if (done) return done;
    const entry = raw.get(id);
    if (!entry) throw new TemplateError([`${path}: got a reference to "${id}", expected the Id of a query in the list (${[...raw.keys()].join(', ')})`]);
    if (stack.includes(id)) throw new TemplateError([`${entry.at}: got a cycle ${[...stack, id].join(' -> ')}, expected expressions that do not refer to themselves`]);
    const { item, at } = entry;
    let q: MetricQuery;
    if (isObject(item.MetricStat)) {
      const ms = item.MetricStat;
      const metric = isObject(ms.Metric) ? ms.Metric : undefined;
      if (!metric) throw new TemplateError([`${at}.MetricStat.Metric: got ${formatValue(ms.Metric)}, expected a metric`]);
      const period = owner === 'alarm' ? t.number(ms.Period, `${at}.MetricStat.Period`) : t.optionalNumber(ms.Period, `${at}.MetricStat.Period`) ?? 60;
      q = {
        kind: 'stat',
        metric: readMetricId(t, metric, `${at}.MetricStat.Metric`),
        stat: readStat(ms.Stat, `${at}.MetricStat.Stat`),
        period: owner === 'alarm' ? checkPeriod(period, `${at}.MetricStat.Period`, [10, 20, 30]) : checkPeriod(period, `${at}.MetricStat.Period`, [10, 30, 60], true),
      };
    } else if (typeof item.Expression === 'string') {
      let expr: Expr;
      try {
        expr = parseExpression(item.Expression);
      } catch (e) {
        throw new TemplateError([`${at}.Expression: got ${formatValue(item.Expression)} (${(e as Error).message}), expected metric math the simulator evaluates`]);
      }
      const inputs: Record<string, MetricQuery> = {};
      for (const ref of referencedIds(expr)) inputs[ref] = build(ref, [...stack, id]);
      const periods = new Set(Object.values(inputs).map((x) => x.period));
      if (periods.size > 1) throw new TemplateError([`${at}.Expression: got inputs with periods ${[...periods].join(', ')}, expected one period (CloudWatch requires it)`]);
      const period = periods.size === 1 ? [...periods][0] : t.number(item.Period, `${at}.Period`);
      q = { kind: 'math', period, text: item.Expression, expr, inputs };
    } else {
      throw new TemplateError([`${at}: got ${formatValue(item)}, expected a MetricStat or an Expression`]);
    }
    built.set(id, q);
    return q;
  };
  return build(result.item.Id as string, []);
}

function readProxy(t: TemplateReader): ProxyModel {
  const found: Array<{ doc: string; at: string }> = [];
  for (const [id] of t.ofType('AWS::ECS::TaskDefinition')) {
    const containers = t.raw(id, 'ContainerDefinitions');
    (Array.isArray(containers) ? containers : []).forEach((c: Record<string, unknown>, ci: number) => {
      (Array.isArray(c.Environment) ? c.Environment : []).forEach((e: Record<string, unknown>, ei: number) => {
        if (e.Name === 'LLM_ROUTER_CONFIG') {
          const at = res(id, `ContainerDefinitions[${ci}].Environment[${ei}].Value`);
          found.push({ doc: t.string(e.Value, at), at });
        }
      });
    });
  }
  if (found.length !== 1) {
    throw new TemplateError([`Resources: got ${found.length} task definitions with LLM_ROUTER_CONFIG, expected exactly one (the routing proxy's)`]);
  }
  const { doc, at } = found[0];
  let parsed: unknown;
  try {
    parsed = JSON.parse(doc);
  } catch (e) {
    throw new TemplateError([`${at}: got text that is not JSON (${(e as Error).message}), expected the proxy config document`]);
  }
  if (!isObject(parsed) || !Array.isArray(parsed.tiers)) throw new TemplateError([`${at}: got ${formatValue(parsed)}, expected a proxy config document with tiers`]);
  const notes: string[] = [];
  // A template synthesized by another version of the project may carry keys this checkout's proxy
  // does not know: the known ones are read through the proxy's own schema (its defaults included),
  // the others are named in the notes.
  const shape = proxyConfigSchema.shape as Record<string, unknown>;
  const tierShape = (proxyConfigSchema.shape.tiers.element as unknown as { shape: Record<string, unknown> }).shape;
  const known: Record<string, unknown> = { allowUnauthenticated: true };
  const ignored = new Set<string>();
  for (const [k, v] of Object.entries(parsed)) {
    if (k in shape) known[k] = v;
    else ignored.add(k);
  }
  known.tiers = (parsed.tiers as unknown[]).map((tier) => {
    if (!isObject(tier)) return tier;
    for (const k of Object.keys(tier)) if (!(k in tierShape)) ignored.add(`tiers[].${k}`);
    return Object.fromEntries(Object.entries(tier).filter(([k]) => k in tierShape));
  });
  if (ignored.size) notes.push(`proxy document keys this checkout's proxy does not know, ignored: ${[...ignored].join(', ')}`);
  const config = parseProxyConfig(known);
  const tiers = config.tiers.map((tier, i): ProxyTierModel => ({
    name: tier.name,
    whenEmpty: tierWhenEmpty(config, i),
    maxHoldMs: tier.maxHoldMs,
    holdQueueSize: tier.holdQueueSize,
  }));
  return {
    tiers,
    boundaries: tierBoundaries(config),
    fallbackTier: fallbackTierIndex(config),
    firstTokenTimeoutMs: config.dispatch.firstTokenTimeoutMs,
    streamIdleTimeoutMs: config.dispatch.idleTimeoutMs,
    nonStreamTimeoutMs: config.dispatch.nonStreamTimeoutMs,
    namespace: config.metrics.namespace ?? `LlmTierRouter/${config.metrics.environment}`,
    tasks: proxyTasks(t),
    notes,
  };
}

function proxyTasks(t: TemplateReader): number {
  for (const [id, target] of t.ofType('AWS::ApplicationAutoScaling::ScalableTarget')) {
    if (target.Properties?.ScalableDimension === 'ecs:service:DesiredCount') return Math.max(1, t.number(target.Properties.MinCapacity, res(id, 'MinCapacity')));
  }
  for (const [id, service] of t.ofType('AWS::ECS::Service')) {
    if (service.Properties?.DesiredCount !== undefined) return Math.max(1, t.number(service.Properties.DesiredCount, res(id, 'DesiredCount')));
  }
  return 1;
}

/** Every enabled EventBridge Scheduler schedule whose target is a function with a `FLEETS` list to warm. */
function readPrewarms(t: TemplateReader): PrewarmModel[] {
  const out: PrewarmModel[] = [];
  for (const [id, schedule] of t.ofType('AWS::Scheduler::Schedule')) {
    const props = schedule.Properties ?? {};
    if (props.State === 'DISABLED') continue;
    const target = isObject(props.Target) ? props.Target : undefined;
    const arn = target && isObject(target.Arn) && Array.isArray(target.Arn['Fn::GetAtt']) ? String(target.Arn['Fn::GetAtt'][0]) : undefined;
    const fn = arn ? t.get(arn) : undefined;
    const env = fn?.Type === 'AWS::Lambda::Function' && isObject(fn.Properties?.Environment) ? (fn.Properties?.Environment as Record<string, unknown>).Variables : undefined;
    if (!isObject(env) || env.FLEETS === undefined) continue;
    const fleetsText = t.string(env.FLEETS, res(arn as string, 'Environment.Variables.FLEETS'));
    let fleets: string[];
    try {
      fleets = (JSON.parse(fleetsText) as Array<{ fleet: string }>).map((f) => f.fleet);
    } catch {
      throw new TemplateError([`${res(arn as string, 'Environment.Variables.FLEETS')}: got ${formatValue(fleetsText)}, expected the JSON list of fleets to warm`]);
    }
    out.push({
      logicalId: id,
      expression: t.string(props.ScheduleExpression, res(id, 'ScheduleExpression')),
      timeZone: props.ScheduleExpressionTimezone === undefined ? 'UTC' : t.string(props.ScheduleExpressionTimezone, res(id, 'ScheduleExpressionTimezone')),
      fleets,
    });
  }
  return out;
}
