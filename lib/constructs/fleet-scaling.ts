import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { EnvConfig } from '../config/schema';
import type { FleetSpec } from '../config/fleets';
import { BusinessHours, businessHoursCrons } from '../config/business-hours';
import { Dimension, FleetMetric, ProxyMetric } from '../../contracts/metrics';

/** Period of the fleet's high-resolution queue metrics (the publisher sends one sample per 10 s). */
export const FLEET_METRIC_PERIOD = Duration.seconds(10);
/**
 * What a zero-minimum tier's tracked load reads instead of 0: any value above 0 keeps target tracking
 * from removing a group's last instance (ceil(instances x load / target) stays >= 1), so only the
 * idle policy takes the tier to zero.
 */
export const IDLE_LOAD_FLOOR = 0.01;
/** Period of the idle-to-zero alarm: the proxy flushes its counters every 10 s, the gauges come every 10 s. */
export const IDLE_PERIOD = Duration.minutes(1);
/** Instances added when waiting requests per instance pass `queueDepthScaleOut`. */
export const SCALE_OUT_STEP = 1;
/** Instances added when waiting requests per instance pass `queueDepthScaleOutLarge`. */
export const SCALE_OUT_LARGE_STEP = 2;
/**
 * Period of the scale-from-zero alarm. GroupDesiredCapacity, which gates it, has one-minute
 * granularity (EnableMetricsCollection accepts only `1Minute`).
 */
export const SCALE_FROM_ZERO_PERIOD = Duration.minutes(1);

/** Props of {@link FleetScaling}. */
export interface FleetScalingProps {
  /** The fleet's group. */
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** Name of the group, as the on-instance publisher sends it in the `AutoScalingGroupName` dimension. */
  readonly autoScalingGroupName: string;
  /** Name, kind, capacities and servers (max sequences) of the fleet. */
  readonly fleet: FleetSpec;
  /** The scaling slice of the validated config. */
  readonly scaling: EnvConfig['scaling'];
  /** The environment's schedule: business hours raise the group's minimum when enabled. */
  readonly businessHours: BusinessHours;
  /** The environment's CloudWatch namespace. */
  readonly metricsNamespace: string;
}

/**
 * The target of the load metric for one fleet: `targetLoadFraction` (the fleet's own, else the
 * environment's) of the sequences its instance runs at once. The router's instance runs two servers and publishes their gauges summed, so its
 * target is a share of both servers' sequence limits.
 */
export function loadTarget(fleet: Pick<FleetSpec, 'servers'>, targetLoadFraction: number): number {
  const maxSeqs = fleet.servers.reduce((sum, server) => sum + server.maxNumSeqs, 0);
  return Math.max(1, Math.round(targetLoadFraction * maxSeqs * 100) / 100);
}

/**
 * Every scaling rule of one fleet, thresholds from config. One policy sizes the fleet in both
 * directions and the others only ever add, so no two act against each other on the same load:
 *
 * - target tracking on load per instance (running + waiting, 10 s), scaling out and in. While
 *   requests queue (waiting >= `queueDepthBlocksScaleIn`) the metric reads at least the target, so
 *   it never scales in then: a fleet that queues is not oversized, whatever its running count.
 * - step scale-out on waiting requests per instance for bursts (no scale-in step). It fires only at
 *   waiting >= `queueDepthScaleOut` >= `queueDepthBlocksScaleIn`, where target tracking cannot scale in.
 * - scale-out from zero (tiers with minimum 0) on the proxy's no-capacity requests, gated on the
 *   group wanting no instance, so it can only act at zero, where nothing scales in.
 * - scale-in to zero (tiers with minimum 0) once no request was routed to the tier, ran or waited
 *   on it for `idleMinutesBeforeZero` minutes; target tracking's metric is floored above 0 there, so
 *   it never removes the last instance itself. With no request anywhere, nothing else acts.
 * - business-hours minimum capacity (scheduled actions change only the group's minimum; the
 *   pre-warm schedules cover the other hours of the week).
 */
export class FleetScaling extends Construct {
  /** Scale-out steps on waiting requests per instance (no scale-in). */
  readonly queueScaleOut: autoscaling.StepScalingAction;
  /** The alarm that invokes {@link queueScaleOut}. */
  readonly queueScaleOutAlarm: cloudwatch.Alarm;
  /** Target tracking on load (running + waiting) per instance; the only policy that scales in. */
  readonly loadTracking: autoscaling.CfnScalingPolicy;
  /** Target value of {@link loadTracking}: running plus waiting requests per instance. */
  readonly loadTarget: number;
  /** Scale-out from zero; only for a tier whose minimum capacity is 0. */
  readonly scaleFromZero?: autoscaling.StepScalingAction;
  /** The alarm that invokes {@link scaleFromZero}. */
  readonly scaleFromZeroAlarm?: cloudwatch.Alarm;
  /** Scale-in to zero after idle minutes; only for a tier whose minimum capacity is 0. */
  readonly scaleToZero?: autoscaling.StepScalingAction;
  /** The alarm that invokes {@link scaleToZero}. */
  readonly scaleToZeroAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: FleetScalingProps) {
    super(scope, id);
    const { fleet, scaling: s, autoScalingGroup: asg } = props;
    const warmup = Duration.seconds(fleet.healthCheckGraceSeconds);
    const dimensionsMap = { [Dimension.AutoScalingGroupName]: props.autoScalingGroupName, [Dimension.Fleet]: fleet.name };

    // Each instance sends one sample per 10 s under the same dimensions, so the Average is the
    // per-instance mean across the group. Instances still loading publish nothing.
    const waiting = new cloudwatch.Metric({
      namespace: props.metricsNamespace,
      metricName: FleetMetric.RequestsWaiting,
      dimensionsMap,
      statistic: cloudwatch.Stats.AVERAGE,
      period: FLEET_METRIC_PERIOD,
    });
    const datapoints = s.scaleOutEvaluationSeconds / FLEET_METRIC_PERIOD.toSeconds();
    // A StepScalingAction built without a cooldown key: StepScalingPolicy passes `cooldown` through
    // even when unset, which prints a deprecation warning on every synth.
    this.queueScaleOut = new autoscaling.StepScalingAction(this, 'QueueScaleOut', {
      autoScalingGroup: asg,
      adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      metricAggregationType: autoscaling.MetricAggregationType.AVERAGE,
      // While launched instances warm up they count towards the capacity the next step compares
      // with, so the alarm re-invoking this policy every minute adds nothing until the queue reaches
      // a higher step.
      estimatedInstanceWarmup: warmup,
    });
    this.queueScaleOut.addAdjustment({ lowerBound: 0, upperBound: s.queueDepthScaleOutLarge - s.queueDepthScaleOut, adjustment: SCALE_OUT_STEP });
    this.queueScaleOut.addAdjustment({ lowerBound: s.queueDepthScaleOutLarge - s.queueDepthScaleOut, adjustment: SCALE_OUT_LARGE_STEP });
    this.queueScaleOutAlarm = new cloudwatch.Alarm(this, 'QueueScaleOutAlarm', {
      alarmDescription: `${fleet.name}: waiting requests per instance >= ${s.queueDepthScaleOut} for ${s.scaleOutEvaluationSeconds} s; adds instances (scale-out only)`,
      metric: waiting,
      threshold: s.queueDepthScaleOut,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: datapoints,
      datapointsToAlarm: datapoints,
      // No instance publishing means no queue to act on.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.queueScaleOutAlarm.addAlarmAction(new actions.AutoScalingAction(this.queueScaleOut));

    this.loadTarget = loadTarget(fleet, fleet.targetLoadFraction ?? s.targetLoadFraction);
    this.loadTracking = this.loadTrackingPolicy(props, warmup.toSeconds());

    const bh = props.businessHours;
    if (bh.enabled && fleet.businessHoursMinCapacity !== fleet.minCapacity) {
      // Only the minimum changes: a lower minimum leaves the desired capacity to target tracking.
      const crons = businessHoursCrons(bh);
      new autoscaling.ScheduledAction(this, 'BusinessHoursStart', {
        autoScalingGroup: asg,
        schedule: autoscaling.Schedule.expression(crons.start),
        timeZone: bh.timeZone,
        minCapacity: fleet.businessHoursMinCapacity,
      });
      new autoscaling.ScheduledAction(this, 'BusinessHoursEnd', {
        autoScalingGroup: asg,
        schedule: autoscaling.Schedule.expression(crons.end),
        timeZone: bh.timeZone,
        minCapacity: fleet.minCapacity,
      });
    }

    if (fleet.kind === 'tier' && fleet.minCapacity === 0) {
      this.scaleFromZero = new autoscaling.StepScalingAction(this, 'ScaleFromZero', {
        autoScalingGroup: asg,
        adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        metricAggregationType: autoscaling.MetricAggregationType.MAXIMUM,
        // The booting instance counts as capacity for the minute-by-minute re-invocations, so they
        // add nothing while it loads (the desired-capacity gate closes the alarm soon after).
        estimatedInstanceWarmup: warmup,
      });
      this.scaleFromZero.addAdjustment({ lowerBound: 0, adjustment: 1 });
      this.scaleFromZeroAlarm = this.scaleFromZeroAlarmFor(props);
      this.scaleFromZeroAlarm.addAlarmAction(new actions.AutoScalingAction(this.scaleFromZero));

      this.scaleToZero = new autoscaling.StepScalingAction(this, 'ScaleToZero', {
        autoScalingGroup: asg,
        adjustmentType: autoscaling.AdjustmentType.EXACT_CAPACITY,
        metricAggregationType: autoscaling.MetricAggregationType.MAXIMUM,
      });
      this.scaleToZero.addAdjustment({ upperBound: 0, adjustment: 0 });
      this.scaleToZeroAlarm = this.scaleToZeroAlarmFor(props);
      this.scaleToZeroAlarm.addAlarmAction(new actions.AutoScalingAction(this.scaleToZero));
    }
  }

  /** A tier whose minimum is 0: target tracking leaves its last instance to the idle policy. */
  private static scalesToZero(fleet: FleetSpec): boolean {
    return fleet.kind === 'tier' && fleet.minCapacity === 0;
  }

  /**
   * Target tracking on (running + waiting) per instance at `loadTrackingPeriodSeconds`, through
   * metric math in CustomizedMetricSpecification.Metrics: the L2 scaleToTrackMetric rejects math
   * (aws-cdk #20659). The metric grows with demand and falls as instances are added, as target
   * tracking needs. When waiting reaches `queueDepthBlocksScaleIn` and load is still under the
   * target (requests queue on KV-cache space, not on sequence slots), it reads exactly the target:
   * neither of the policy's alarms acts, and the queue step policy adds capacity. For a tier whose
   * minimum is 0 it never reads 0, so the last instance goes only on the idle policy.
   */
  private loadTrackingPolicy(props: FleetScalingProps, warmupSeconds: number): autoscaling.CfnScalingPolicy {
    const { scaling: s } = props;
    const target = this.loadTarget;
    const dimensions = [
      { name: Dimension.AutoScalingGroupName, value: props.autoScalingGroupName },
      { name: Dimension.Fleet, value: props.fleet.name },
    ];
    const period = s.loadTrackingPeriodSeconds;
    const held = `IF(waiting >= ${s.queueDepthBlocksScaleIn} AND load < ${target}, ${target}, load)`;
    const floored = FleetScaling.scalesToZero(props.fleet);
    const gauge = (id: string, metricName: string): autoscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty => ({
      id,
      metricStat: { metric: { namespace: props.metricsNamespace, metricName, dimensions }, stat: 'Average', period },
      returnData: false,
    });
    return new autoscaling.CfnScalingPolicy(this, 'LoadTracking', {
      autoScalingGroupName: props.autoScalingGroup.autoScalingGroupName,
      policyType: 'TargetTrackingScaling',
      estimatedInstanceWarmup: warmupSeconds,
      targetTrackingConfiguration: {
        targetValue: target,
        disableScaleIn: false,
        customizedMetricSpecification: {
          metrics: [
            gauge('running', FleetMetric.RequestsRunning),
            gauge('waiting', FleetMetric.RequestsWaiting),
            { id: 'load', expression: 'running + waiting', label: 'running + waiting per instance', returnData: false, period },
            {
              id: 'tracked',
              // IF(load, ...): a datapoint of 0 is false, and no datapoint (no instance publishing) stays none.
              expression: floored ? `IF(load, ${held}, ${IDLE_LOAD_FLOOR})` : held,
              label: `load per instance, at least ${target} while ${s.queueDepthBlocksScaleIn}+ requests wait${floored ? `, never under ${IDLE_LOAD_FLOOR}` : ''}`,
              returnData: true,
              period,
            },
          ],
        },
      },
    });
  }

  /**
   * A group at zero instances publishes no vLLM metric, and the proxy's in-flight gauge stays near 0
   * because the load balancer refuses requests to a tier without targets at once. The proxy counts
   * each request that found the tier without capacity; their Sum over a minute starts the first
   * instance. The expression is 0 once the group wants an instance, so the alarm returns to OK
   * instead of adding one instance per minute while the first boots.
   */
  private scaleFromZeroAlarmFor(props: FleetScalingProps): cloudwatch.Alarm {
    const period = SCALE_FROM_ZERO_PERIOD;
    const noCapacity = new cloudwatch.Metric({
      namespace: props.metricsNamespace,
      metricName: ProxyMetric.NoCapacityRequests,
      dimensionsMap: { [Dimension.Tier]: props.fleet.name },
      statistic: cloudwatch.Stats.SUM,
      period,
    });
    const desired = new cloudwatch.Metric({
      namespace: 'AWS/AutoScaling',
      metricName: 'GroupDesiredCapacity',
      dimensionsMap: { AutoScalingGroupName: props.autoScalingGroupName },
      statistic: cloudwatch.Stats.MAXIMUM,
      period,
    });
    const threshold = props.scaling.noCapacityRequestsScaleFromZero;
    return new cloudwatch.Alarm(this, 'ScaleFromZeroAlarm', {
      alarmDescription: `${props.fleet.name}: ${threshold}+ requests found no capacity within a minute while the group wants no instance; starts one`,
      metric: new cloudwatch.MathExpression({
        // A missing desired capacity reads as 0 (the group is at zero or its metrics are late); a
        // missing count as 0 (no proxy task published, so no request was refused).
        expression: 'IF(FILL(desired, 0) < 1, FILL(nocapacity, 0), 0)',
        usingMetrics: { nocapacity: noCapacity, desired },
        period,
        label: `${ProxyMetric.NoCapacityRequests} while ${props.fleet.name} has no instance`,
      }),
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * In alarm once, for `idleMinutesBeforeZero` one-minute periods in a row, no request was routed to
   * the tier (the proxy's counter, published every flush, zeros included) and its instances held
   * under one request each on average. Missing data (no proxy task publishing) never takes the tier
   * to zero.
   */
  private scaleToZeroAlarmFor(props: FleetScalingProps): cloudwatch.Alarm {
    const period = IDLE_PERIOD;
    const minutes = props.scaling.idleMinutesBeforeZero;
    const fleetDims = { [Dimension.AutoScalingGroupName]: props.autoScalingGroupName, [Dimension.Fleet]: props.fleet.name };
    const metric = (metricName: string, dimensionsMap: Record<string, string>, statistic: string) => new cloudwatch.Metric({
      namespace: props.metricsNamespace, metricName, dimensionsMap, statistic, period,
    });
    return new cloudwatch.Alarm(this, 'ScaleToZeroAlarm', {
      alarmDescription: `${props.fleet.name}: no request routed, running or waiting for ${minutes} min; scales the tier to zero`,
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(routed, 0) + FILL(running, 0) + FILL(waiting, 0)',
        usingMetrics: {
          routed: metric(ProxyMetric.RoutedRequests, { [Dimension.Tier]: props.fleet.name }, cloudwatch.Stats.SUM),
          // Per-instance averages: above 0 as soon as any instance holds a request.
          running: metric(FleetMetric.RequestsRunning, fleetDims, cloudwatch.Stats.AVERAGE),
          waiting: metric(FleetMetric.RequestsWaiting, fleetDims, cloudwatch.Stats.AVERAGE),
        },
        period,
        label: `requests routed to, running or waiting on ${props.fleet.name}`,
      }),
      // Under one: no request routed (a count) and under one request per instance on average in flight.
      // Every request routed within the window breaks it, and none runs longer than the window (the
      // config requires idleMinutesBeforeZero to exceed longestGenerationSeconds).
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: minutes,
      datapointsToAlarm: minutes,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
