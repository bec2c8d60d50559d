import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Template } from 'aws-cdk-lib/assertions';
import { CostAlarms, FleetAlarms, ServiceAlarms } from '../../lib/constructs/alarms';
import type { FleetSpec } from '../../lib/config/fleets';
import { OpsMetrics, opsFleet } from '../../lib/constructs/ops-metrics';
import { FleetMetric, PrewarmMetric, ProxyMetric, ScoringFallbackReason } from '../../contracts/metrics';
import { fleetStack, nagFindings, THRESHOLDS } from './fixture';
import { evaluateQueries, MetricRef } from './metric-math';

const { stack, metrics, targetGroups, fleets } = fleetStack();
const topic = new sns.Topic(stack, 'AlarmTopic');
const dlq = new sqs.Queue(stack, 'Dlq');
const cost = new CostAlarms(stack, 'CostAlarms', { envName: 'test', metrics, topic, thresholds: THRESHOLDS });
const service = new ServiceAlarms(stack, 'ServiceAlarms', { envName: 'test', metrics, topic, thresholds: THRESHOLDS, targetGroups });
const fleet = new FleetAlarms(stack, 'FleetAlarms', {
  envName: 'test',
  metrics,
  topic,
  thresholds: THRESHOLDS,
  prewarmFleets: ['router', 'small', 'large'],
  prewarmDeadLetterQueue: dlq,
});
const template = Template.fromStack(stack);
const topicRef = { Ref: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) };

type Props = Record<string, any>;
function alarm(name: string): Props {
  const found = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
    (r) => r.Properties.AlarmName === name,
  );
  expect(found).toHaveLength(1);
  return found[0].Properties;
}
/** MetricStat entries of a math alarm, keyed by id. */
function stats(props: Props): Record<string, Props> {
  return Object.fromEntries((props.Metrics ?? []).filter((m: Props) => m.MetricStat).map((m: Props) => [m.Id, m.MetricStat]));
}
function expression(props: Props): string {
  return props.Metrics.find((m: Props) => m.ReturnData !== false && m.Expression).Expression;
}
/**
 * The one metric of a single-metric alarm, whichever form CDK rendered (a labelled metric renders as
 * a one-entry Metrics array): namespace, name, dimensions, statistic and period.
 */
function metricOf(props: Props): Props {
  if (props.MetricName) {
    const { Namespace, MetricName, Dimensions, Period } = props;
    return { Namespace, MetricName, Dimensions, Period, Stat: props.Statistic ?? props.ExtendedStatistic };
  }
  expect(props.Metrics).toHaveLength(1);
  const { Metric, Stat, Period } = props.Metrics[0].MetricStat;
  return { ...Metric, Stat, Period };
}
function dims(stat: Props): Record<string, unknown> {
  return Object.fromEntries(stat.Metric.Dimensions.map((d: Props) => [d.Name, d.Value]));
}

describe('every alarm', () => {
  const all = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties);

  it('notifies the topic when it fires and when it recovers', () => {
    expect(all.length).toBe(3 + 2 + 4 + 3 + 3 + 3 + 1);
    for (const props of all) {
      expect(props.AlarmActions).toEqual([topicRef]);
      expect(props.OKActions).toEqual([topicRef]);
    }
  });

  it('is named after the environment and says what to check first', () => {
    for (const props of all) {
      expect(props.AlarmName).toMatch(/^test-/);
      expect(props.AlarmDescription).toMatch(/Check first: /);
    }
  });

  it('passes the AWS Solutions checks', () => {
    expect([...nagFindings(cost), ...nagFindings(service), ...nagFindings(fleet)]).toEqual([]);
  });
});

describe('CostAlarms', () => {
  it('hourly spend: instance-hours at catalog prices, the proxy\'s Fargate tasks and the fixed network charges, never token cost', () => {
    const props = alarm('test-spend-per-hour-above-budget');
    expect(props).toMatchObject({ Threshold: 10, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    const s = stats(props);
    expect(s.i2).toMatchObject({ Metric: { Namespace: 'AWS/AutoScaling', MetricName: 'GroupTotalInstances' }, Stat: 'Average', Period: 3600 });
    expect(s.tasks).toMatchObject({ Metric: { Namespace: 'ECS/ContainerInsights', MetricName: 'RunningTaskCount' }, Stat: 'Average', Period: 3600 });
    expect(dims(s.tasks)).toEqual({ ClusterName: 'proxy-cluster', ServiceName: 'proxy-service' });
    // Average billed instances over the hour per group, 3 proxy tasks; token cost is there but must not count.
    const groups = Object.fromEntries(fleets.map(({ name, asg }) => [JSON.stringify(stack.resolve(asg.autoScalingGroupName)), name]));
    const perFleet: Record<string, number> = { router: 1, small: 2.5, large: 1 };
    const value = (tasks: number | undefined) => (m: MetricRef) => {
      if (m.metricName === 'GroupTotalInstances') return perFleet[groups[JSON.stringify(m.dimensions.AutoScalingGroupName)]];
      if (m.metricName === 'RunningTaskCount') return tasks;
      if (m.metricName === ProxyMetric.EstimatedCostUsd) return 1000;
      throw new Error(`unexpected metric ${m.metricName}`);
    };
    // By hand: 1 router and 2.5 small g6e.xlarge at 1.861, 1 large g6e.4xlarge at 3.00424; 3 tasks of
    // 1 vCPU (0.04048) and 2 GB (2 x 0.004445); 2 ALBs at 0.0225, 1 NAT gateway at 0.045 and 3 public
    // IPv4 addresses at 0.005.
    const fixed = 2 * 0.0225 + 0.045 + 3 * 0.005;
    const hand = 1 * 1.861 + 2.5 * 1.861 + 1 * 3.00424 + 3 * (0.04048 + 2 * 0.004445) + fixed;
    expect(hand).toBeCloseTo(9.77085, 5);
    expect(evaluateQueries(props.Metrics, value(3))).toBeCloseTo(hand, 6);
    // No task count for the hour (Container Insights late or off): the service's minimum of 2 tasks.
    expect(evaluateQueries(props.Metrics, value(undefined))).toBeCloseTo(hand - 0.04937, 6);
  });

  it('spend anomaly: upper band of 3 standard deviations over the same expression, 2 hours', () => {
    const props = alarm('test-spend-per-hour-anomaly');
    expect(props).toMatchObject({ ComparisonOperator: 'GreaterThanUpperThreshold', EvaluationPeriods: 2, DatapointsToAlarm: 2 });
    const band = props.Metrics.find((m: Props) => String(m.Expression).startsWith('ANOMALY_DETECTION_BAND'));
    const [, spendId] = /^ANOMALY_DETECTION_BAND\((\w+), 3\)$/.exec(band.Expression) ?? [];
    expect(props.Metrics.find((m: Props) => m.Id === spendId).Expression).toBe(expression(alarm('test-spend-per-hour-above-budget')));
    expect(props.ThresholdMetricId).toBe(band.Id);
  });

  it('large-tier share: large tier over all routed requests above 25% over 15 minutes', () => {
    const props = alarm('test-large-tier-share-above-limit');
    expect(props).toMatchObject({ Threshold: 0.25, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1 });
    expect(expression(props)).toBe('IF(total > 0, FILL(large, 0) / total, 0)');
    const s = stats(props);
    expect(s.large).toMatchObject({ Metric: { MetricName: ProxyMetric.RoutedRequests }, Stat: 'Sum', Period: 900 });
    expect(dims(s.large)).toEqual({ Tier: 'large' });
    expect(props.AlarmDescription).toMatch(/More than 25% of routed requests went to the large tier/);
  });
});

describe('ServiceAlarms', () => {
  it('scoring fallbacks: every reason summed, per routed request, 15 minutes', () => {
    const props = alarm('test-scoring-fallback-rate-high');
    expect(props).toMatchObject({ Threshold: 0.05, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    const reasons = Object.values(stats(props))
      .filter((s) => s.Metric.MetricName === ProxyMetric.ScoringFallbacks)
      .map((s) => dims(s).Reason);
    expect(reasons.sort()).toEqual(Object.values(ScoringFallbackReason).sort());
  });

  it('proxy 5xx: share of requests, 2 consecutive 5-minute periods', () => {
    const props = alarm('test-proxy-5xx-rate-high');
    expect(props).toMatchObject({ Threshold: 0.01, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 2 });
    expect(stats(props).errors).toMatchObject({ Metric: { MetricName: ProxyMetric.ClientErrors5xx }, Stat: 'Sum', Period: 300 });
  });

  it.each(['small', 'large'])('p99 time to first token and end-to-end latency of the %s tier', (tier) => {
    const ttft = alarm(`test-${tier}-p99-time-to-first-token-high`);
    expect(metricOf(ttft)).toEqual({
      Namespace: 'LlmTierRouter/test',
      MetricName: ProxyMetric.TimeToFirstToken,
      Dimensions: [{ Name: 'Tier', Value: tier }],
      Stat: 'p99',
      Period: 300,
    });
    expect(ttft).toMatchObject({
      Threshold: 2000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
    });
    const e2e = alarm(`test-${tier}-p99-end-to-end-latency-high`);
    expect(metricOf(e2e)).toMatchObject({ MetricName: ProxyMetric.EndToEndLatency, Stat: 'p99', Period: 300 });
    expect(e2e).toMatchObject({ Threshold: 60000, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it.each(['router', 'small', 'large'])('unhealthy targets of the %s target group for 5 minutes', (name) => {
    const props = alarm(`test-${name}-unhealthy-targets`);
    const metric = metricOf(props);
    expect(metric).toMatchObject({ Namespace: 'AWS/ApplicationELB', MetricName: 'UnHealthyHostCount', Stat: 'Maximum', Period: 60 });
    expect(metric.Dimensions.map((d: Props) => d.Name).sort()).toEqual(['LoadBalancer', 'TargetGroup']);
    expect(props).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
    });
  });
});

describe('FleetAlarms', () => {
  it.each(['router', 'small', 'large'])('queue depth of the %s fleet: waiting requests per instance above 50 for 2 minutes', (name) => {
    const props = alarm(`test-${name}-queue-depth-high`);
    const metric = metricOf(props);
    expect(metric).toMatchObject({ Namespace: 'LlmTierRouter/test', MetricName: FleetMetric.RequestsWaiting, Stat: 'Average', Period: 60 });
    expect(metric.Dimensions.map((d: Props) => d.Name).sort()).toEqual(['AutoScalingGroupName', 'Fleet']);
    expect(metric.Dimensions.find((d: Props) => d.Name === 'Fleet').Value).toBe(name);
    expect(props).toMatchObject({
      Threshold: 50,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
    });
  });

  it.each(['router', 'small', 'large'])('pre-warm failures of the %s fleet in two consecutive runs', (name) => {
    const props = alarm(`test-${name}-prewarm-failures`);
    expect(metricOf(props)).toEqual({
      Namespace: 'LlmTierRouter/test',
      MetricName: PrewarmMetric.WarmupFailures,
      Dimensions: [{ Name: 'Fleet', Value: name }],
      Stat: 'Sum',
      Period: 300,
    });
    expect(props).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 2,
    });
  });

  it('a message in the pre-warm dead-letter queue', () => {
    const props = alarm('test-prewarm-dead-letters');
    expect(metricOf(props)).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Stat: 'Maximum', Period: 300 });
    expect(props).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});

describe('OpsMetrics', () => {
  it('needs at least two tiers to know which one is large', () => {
    const proxy = { clusterName: 'c', serviceName: 's', usdPerTaskHour: 0.05, minTasks: 1 };
    expect(() => new OpsMetrics({ envName: 'x', tiers: ['only'], fleets: [], proxy, fixedUsdPerHour: 0 })).toThrow(/expected at least two tier names/);
  });
});

describe('opsFleet', () => {
  it('prices a fleet from the instance catalog', () => {
    const spec = { name: 'large', instanceType: 'g6e.4xlarge' } as unknown as FleetSpec;
    expect(opsFleet(spec, 'asg-large')).toEqual({ name: 'large', asgName: 'asg-large', usdPerHour: 3.00424 });
  });
});
