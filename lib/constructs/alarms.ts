import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { EnvConfig } from '../config/schema';
import { budgetPerHour, OpsMetrics } from './ops-metrics';

/** The alarm thresholds of one environment (`alarms` in config). */
export type AlarmThresholds = EnvConfig['alarms'];

/** What every alarm construct receives: where to notify and which metrics to watch. */
export interface AlarmBaseProps {
  /** Environment name, prefixed to every alarm name. */
  readonly envName: string;
  /** The environment's metric catalog. */
  readonly metrics: OpsMetrics;
  /** Topic notified when an alarm fires and when it recovers. */
  readonly topic: sns.ITopic;
}

/** `small-tier` -> `SmallTier`, for construct ids derived from fleet and tier names. */
export function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

/** Sends both the ALARM and the OK transition to the topic, so a recovery is visible too. */
function notify(alarm: cloudwatch.Alarm, topic: sns.ITopic): cloudwatch.Alarm {
  const action = new actions.SnsAction(topic);
  alarm.addAlarmAction(action);
  alarm.addOkAction(action);
  return alarm;
}

/** Props of {@link CostAlarms}. */
export interface CostAlarmsProps extends AlarmBaseProps {
  readonly thresholds: Pick<AlarmThresholds, 'monthlyBudgetUsd' | 'largeTierShareLimit'>;
}

/**
 * Alarms on what the environment costs: estimated spend per hour against the budget, an anomaly band
 * on the same figure, and the large tier's share of traffic (router drift makes every request dearer).
 */
export class CostAlarms extends Construct {
  public readonly hourlySpend: cloudwatch.Alarm;
  public readonly spendAnomaly: cloudwatch.Alarm;
  public readonly largeTierShare: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: CostAlarmsProps) {
    super(scope, id);
    const { envName, metrics, topic, thresholds } = props;
    const hourlyBudget = Math.round(budgetPerHour(thresholds.monthlyBudgetUsd) * 100) / 100;
    const limitPercent = Math.round(thresholds.largeTierShareLimit * 100);

    this.hourlySpend = notify(
      new cloudwatch.Alarm(this, 'HourlySpend', {
        alarmName: `${envName}-spend-per-hour-above-budget`,
        alarmDescription:
          `Estimated spend over the last hour (GPU instance-hours at catalog prices, the proxy's Fargate tasks, and the ` +
          `load balancers, NAT gateways and public IPv4 addresses) is above ${hourlyBudget} USD/hour, the ` +
          `${thresholds.monthlyBudgetUsd} USD monthly budget spread over 730 hours. Check first: the dashboard's instances ` +
          `per fleet (a fleet that did not scale in, or a raised minimum), then routed requests per tier.`,
        metric: metrics.hourlySpend(),
        threshold: hourlyBudget,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      topic,
    );

    // Three standard deviations: hourly spend steps with every instance launch, and a 2-sigma band
    // would page on ordinary scale-outs.
    this.spendAnomaly = notify(
      new cloudwatch.AnomalyDetectionAlarm(this, 'SpendAnomaly', {
        alarmName: `${envName}-spend-per-hour-anomaly`,
        alarmDescription:
          `Estimated spend per hour has been above its learned normal band for 2 hours (the model needs about 2 weeks of data). ` +
          `Check first: in-service instances per fleet and the large tier's share of routed requests; a new client or a ` +
          `scaling change are the usual causes.`,
        metric: metrics.hourlySpend(),
        stdDevs: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      topic,
    );

    this.largeTierShare = notify(
      new cloudwatch.Alarm(this, 'LargeTierShare', {
        alarmName: `${envName}-large-tier-share-above-limit`,
        alarmDescription:
          `More than ${limitPercent}% of ${metrics.routingMode === 'shadow' ? "the router's decisions (shadow mode) chose" : 'routed requests went to'} the ${metrics.largeTier} tier over 15 minutes: the router ` +
          `may be drifting and every request costs more. Check first: the score percentiles and scoring fallbacks on the ` +
          `dashboard (fallbacks go to the fallback tier), then whether the traffic mix really changed (x-route-reason headers).`,
        metric: metrics.largeTierShare(),
        threshold: thresholds.largeTierShareLimit,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      topic,
    );
  }
}

/** A target group and the fleet name it serves, for unhealthy-target alarms. */
export interface NamedTargetGroup {
  /** Fleet or server name shown in the alarm name (`router-embedding`, `small`). */
  readonly name: string;
  readonly targetGroup: elbv2.IApplicationTargetGroup;
}

/** Props of {@link ServiceAlarms}. */
export interface ServiceAlarmsProps extends AlarmBaseProps {
  readonly thresholds: Pick<
    AlarmThresholds,
    'fallbackRateLimit' | 'p99TimeToFirstTokenMs' | 'p99EndToEndMs' | 'proxy5xxRateLimit'
  >;
  /** Target groups of the internal load balancer, one per fleet server. */
  readonly targetGroups: readonly NamedTargetGroup[];
}

/**
 * Alarms on what clients feel: scoring fallbacks, p99 time to first token and end-to-end latency per
 * tier, unhealthy targets per target group, and the proxy's 5xx rate.
 */
export class ServiceAlarms extends Construct {
  /** Every alarm, keyed by construct id. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    const { envName, metrics, topic, thresholds } = props;
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const add = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      alarms[alarmId] = notify(new cloudwatch.Alarm(this, alarmId, alarmProps), topic);
    };

    add('ScoringFallbacks', {
      alarmName: `${envName}-scoring-fallback-rate-high`,
      alarmDescription:
        `Scoring fallbacks exceeded ${pct(thresholds.fallbackRateLimit)} of routed requests for 15 minutes: the router ` +
        `fleet is degraded and requests are routed on one signal or sent to the fallback tier. Check first: the router ` +
        `fleet's in-service instances and unhealthy targets, then the proxy logs for scorer or embedding timeouts.`,
      metric: metrics.scoringFallbackRate(),
      threshold: thresholds.fallbackRateLimit,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    add('Proxy5xx', {
      alarmName: `${envName}-proxy-5xx-rate-high`,
      alarmDescription:
        `The proxy answered more than ${pct(thresholds.proxy5xxRateLimit)} of requests with a 5xx status in 2 consecutive ` +
        `5-minute periods: clients are failing. Check first: upstream errors per tier and unhealthy targets on the ` +
        `dashboard, then the proxy's logs.`,
      metric: metrics.proxy5xxRate(),
      threshold: thresholds.proxy5xxRateLimit,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    for (const tier of metrics.tiers) {
      add(`${pascal(tier)}TimeToFirstToken`, {
        alarmName: `${envName}-${tier}-p99-time-to-first-token-high`,
        alarmDescription:
          `p99 time to first token of the ${tier} tier was above ${thresholds.p99TimeToFirstTokenMs} ms in 2 of 3 ` +
          `5-minute periods: requests queue before the model starts answering. Check first: the ${tier} fleet's ` +
          `waiting requests and in-service instances (scale-out lagging or at maxCapacity), then long prompts.`,
        metric: metrics.timeToFirstToken(tier, 'p99'),
        threshold: thresholds.p99TimeToFirstTokenMs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      add(`${pascal(tier)}EndToEndLatency`, {
        alarmName: `${envName}-${tier}-p99-end-to-end-latency-high`,
        alarmDescription:
          `p99 end-to-end latency of the ${tier} tier was above ${thresholds.p99EndToEndMs} ms in 2 of 3 5-minute ` +
          `periods. Check first: time to first token (queueing) versus running requests per instance (batches too ` +
          `large for the GPU), then output lengths.`,
        metric: metrics.endToEndLatency(tier, 'p99'),
        threshold: thresholds.p99EndToEndMs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    for (const { name, targetGroup } of props.targetGroups) {
      add(`${pascal(name)}UnhealthyTargets`, {
        alarmName: `${envName}-${name}-unhealthy-targets`,
        alarmDescription:
          `At least one ${name} target has failed its load balancer health check for 5 minutes. Check first: the ` +
          `instance's vLLM service (systemd journal via Session Manager) for an engine crash or out-of-memory error; ` +
          `the Auto Scaling group replaces it after the health-check grace period.`,
        metric: targetGroup.metrics.unhealthyHostCount({ statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    this.alarms = alarms;
  }
}

/** Props of {@link FleetAlarms}. */
export interface FleetAlarmsProps extends AlarmBaseProps {
  readonly thresholds: Pick<AlarmThresholds, 'queueDepthWaiting'>;
  /**
   * Fleets the pre-warm function warms, for failure alarms.
   * @default - no pre-warm alarms
   */
  readonly prewarmFleets?: readonly string[];
  /**
   * The pre-warm function's dead-letter queue.
   * @default - no dead-letter alarm
   */
  readonly prewarmDeadLetterQueue?: sqs.IQueue;
}

/** Alarms on the GPU fleets: queue depth per fleet and the pre-warm function's failures. */
export class FleetAlarms extends Construct {
  /** Every alarm, keyed by construct id. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: FleetAlarmsProps) {
    super(scope, id);
    const { envName, metrics, topic, thresholds } = props;
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const add = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      alarms[alarmId] = notify(new cloudwatch.Alarm(this, alarmId, alarmProps), topic);
    };

    for (const fleet of metrics.fleets) {
      add(`${pascal(fleet.name)}QueueDepth`, {
        alarmName: `${envName}-${fleet.name}-queue-depth-high`,
        alarmDescription:
          `More than ${thresholds.queueDepthWaiting} requests waited per ${fleet.name} instance for 2 minutes: vLLM is ` +
          `saturated and latency grows. Check first: whether the fleet is at maxCapacity or instances are still ` +
          `loading (in-service instances on the dashboard); raise maxCapacity or maxNumSeqs if this repeats.`,
        metric: metrics.requestsWaiting(fleet, 'Average', Duration.minutes(1)),
        threshold: thresholds.queueDepthWaiting,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    for (const fleet of props.prewarmFleets ?? []) {
      add(`${pascal(fleet)}PrewarmFailures`, {
        alarmName: `${envName}-${fleet}-prewarm-failures`,
        alarmDescription:
          `In two consecutive pre-warm runs at least one ${fleet} instance failed its warm-up request (timeout, refused ` +
          `connection, error status or a malformed answer). Check first: the pre-warm function's log for the instance ` +
          `id and error, then that instance's vLLM service.`,
        metric: metrics.prewarmFailures(fleet, Duration.minutes(5)),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    if (props.prewarmDeadLetterQueue) {
      add('PrewarmDeadLetters', {
        alarmName: `${envName}-prewarm-dead-letters`,
        alarmDescription:
          `A pre-warm run failed as a whole (it could not list instances or publish metrics, or the scheduler could ` +
          `not invoke it) and landed in the dead-letter queue. Check first: the function's log for the error, then ` +
          `its IAM role and network path to the AWS APIs; purge the queue once fixed.`,
        metric: props.prewarmDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: Duration.minutes(5),
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    this.alarms = alarms;
  }
}

function pct(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}
