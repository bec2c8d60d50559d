import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { EnvConfig } from '../config/schema';
import type { FleetSpec } from '../config/fleets';
import { Dimension, FleetMetric, ProxyMetric } from '../../contracts/metrics';

/** Period of the fleet's high-resolution queue metrics (the publisher sends one sample per 10 s). */
export const FLEET_METRIC_PERIOD = Duration.seconds(10);
/** Instances added when waiting requests per instance pass `queueDepthScaleOut`. */
export const SCALE_OUT_STEP = 1;
/** Instances added when waiting requests per instance pass `queueDepthScaleOutLarge`. */
export const SCALE_OUT_LARGE_STEP = 2;

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
  /** The environment's CloudWatch namespace. */
  readonly metricsNamespace: string;
}

/**
 * Every scaling rule of one fleet, thresholds from config: step scaling on queued requests per
 * instance, target tracking on running requests per instance at a 10 s period, business-hours
 * minimum capacity, and (tiers with minimum 0) scale-out from zero on the proxy's pending requests.
 */
export class FleetScaling extends Construct {
  /** Scale-out steps on waiting requests per instance. */
  readonly queueScaleOut: autoscaling.StepScalingPolicy;
  /** Scale-in step when the queue stays near empty. */
  readonly queueScaleIn: autoscaling.StepScalingPolicy;
  /** Target tracking on running requests per instance. */
  readonly runningTracking: autoscaling.CfnScalingPolicy;
  /** Target value of {@link runningTracking}: running requests per instance. */
  readonly runningTarget: number;
  /** Scale-out from zero; only for a tier whose minimum capacity is 0. */
  readonly scaleFromZero?: autoscaling.StepScalingPolicy;

  constructor(scope: Construct, id: string, props: FleetScalingProps) {
    super(scope, id);
    const { fleet, scaling: s, autoScalingGroup: asg } = props;
    const warmup = Duration.seconds(fleet.healthCheckGraceSeconds);
    const dimensionsMap = { [Dimension.AutoScalingGroupName]: props.autoScalingGroupName, [Dimension.Fleet]: fleet.name };
    const fleetMetric = (metricName: string, period: Duration) => new cloudwatch.Metric({
      namespace: props.metricsNamespace,
      metricName,
      dimensionsMap,
      statistic: cloudwatch.Stats.AVERAGE,
      period,
    });

    // Each instance sends one sample per 10 s under the same dimensions, so the Average is the
    // per-instance mean across the group.
    const datapoints = s.scaleOutEvaluationSeconds / FLEET_METRIC_PERIOD.toSeconds();
    this.queueScaleOut = new autoscaling.StepScalingPolicy(this, 'QueueScaleOut', {
      autoScalingGroup: asg,
      metric: fleetMetric(FleetMetric.RequestsWaiting, FLEET_METRIC_PERIOD),
      adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: s.queueDepthScaleOut, change: 0 },
        { lower: s.queueDepthScaleOut, change: SCALE_OUT_STEP },
        { lower: s.queueDepthScaleOutLarge, change: SCALE_OUT_LARGE_STEP },
      ],
      evaluationPeriods: datapoints,
      datapointsToAlarm: datapoints,
      metricAggregationType: autoscaling.MetricAggregationType.AVERAGE,
      estimatedInstanceWarmup: warmup,
    });

    this.queueScaleIn = new autoscaling.StepScalingPolicy(this, 'QueueScaleIn', {
      autoScalingGroup: asg,
      // One-minute periods: scale-in waits minutes, so 10 s alarms would only cost more.
      metric: fleetMetric(FleetMetric.RequestsWaiting, Duration.minutes(1)),
      adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: s.queueDepthScaleIn, change: -1 },
        { lower: s.queueDepthScaleIn, change: 0 },
      ],
      evaluationPeriods: s.scaleInMinutes,
      datapointsToAlarm: s.scaleInMinutes,
      metricAggregationType: autoscaling.MetricAggregationType.AVERAGE,
    });

    // The router's instance runs two servers and publishes their running requests summed, so its
    // target is a share of both servers' sequence limits.
    const maxSeqs = fleet.servers.reduce((sum, server) => sum + server.maxNumSeqs, 0);
    this.runningTarget = Math.max(1, Math.round(s.targetRunningFraction * maxSeqs * 100) / 100);
    // The L2 scaleToTrackMetric rejects a 10 s period (aws-cdk #20659): CloudFormation takes it.
    this.runningTracking = new autoscaling.CfnScalingPolicy(this, 'RunningTracking', {
      autoScalingGroupName: asg.autoScalingGroupName,
      policyType: 'TargetTrackingScaling',
      estimatedInstanceWarmup: warmup.toSeconds(),
      targetTrackingConfiguration: {
        targetValue: this.runningTarget,
        disableScaleIn: false,
        customizedMetricSpecification: {
          namespace: props.metricsNamespace,
          metricName: FleetMetric.RequestsRunning,
          dimensions: Object.entries(dimensionsMap).map(([name, value]) => ({ name, value })),
          statistic: 'Average',
          period: FLEET_METRIC_PERIOD.toSeconds(),
        },
      },
    });

    if (s.businessHours.enabled && fleet.businessHoursMinCapacity !== fleet.minCapacity) {
      new autoscaling.ScheduledAction(this, 'BusinessHoursStart', {
        autoScalingGroup: asg,
        schedule: autoscaling.Schedule.expression(s.businessHours.startCron),
        timeZone: s.businessHours.timeZone,
        minCapacity: fleet.businessHoursMinCapacity,
      });
      new autoscaling.ScheduledAction(this, 'BusinessHoursEnd', {
        autoScalingGroup: asg,
        schedule: autoscaling.Schedule.expression(s.businessHours.endCron),
        timeZone: s.businessHours.timeZone,
        minCapacity: fleet.minCapacity,
      });
    }

    if (fleet.kind === 'tier' && fleet.minCapacity === 0) {
      this.scaleFromZero = this.scaleFromZeroPolicy(props);
    }
  }

  /**
   * A group at zero instances publishes no vLLM metric, so the proxy's pending requests for the tier
   * start it. The expression is zero once the group wants an instance, so the policy adds exactly one
   * and leaves further growth to the queue policies. One-minute period: GroupDesiredCapacity has no
   * finer resolution.
   */
  private scaleFromZeroPolicy(props: FleetScalingProps): autoscaling.StepScalingPolicy {
    const period = Duration.minutes(1);
    const pending = new cloudwatch.Metric({
      namespace: props.metricsNamespace,
      metricName: ProxyMetric.PendingRequests,
      dimensionsMap: { [Dimension.Tier]: props.fleet.name },
      statistic: cloudwatch.Stats.MAXIMUM,
      period,
    });
    const desired = new cloudwatch.Metric({
      namespace: 'AWS/AutoScaling',
      metricName: 'GroupDesiredCapacity',
      dimensionsMap: { AutoScalingGroupName: props.autoScalingGroupName },
      statistic: cloudwatch.Stats.MAXIMUM,
      period,
    });
    const threshold = props.scaling.pendingRequestsScaleFromZero;
    return new autoscaling.StepScalingPolicy(this, 'ScaleFromZero', {
      autoScalingGroup: props.autoScalingGroup,
      metric: new cloudwatch.MathExpression({
        expression: 'IF(FILL(desired, 0) < 1, FILL(pending, 0), 0)',
        usingMetrics: { pending, desired },
        period,
        label: `${ProxyMetric.PendingRequests} while ${props.fleet.name} has no instance`,
      }),
      adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: threshold, change: 0 },
        { lower: threshold, change: 1 },
      ],
      evaluationPeriods: 1,
      estimatedInstanceWarmup: Duration.seconds(props.fleet.healthCheckGraceSeconds),
    });
  }
}
