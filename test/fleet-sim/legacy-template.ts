/**
 * A synthesized template rewritten back to the scaling shapes the project shipped before its
 * scaling was fixed, so the scenarios can be shown to catch both defects:
 * - a queue scale-in step policy (waiting requests per instance <= 1 for 10 one-minute datapoints,
 *   one instance out) beside target tracking on running requests alone: at a steady load with an
 *   empty queue the step policy removes what target tracking adds;
 * - scale-from-zero on the Maximum of the proxy's in-flight gauge (PendingRequests), which stays at
 *   zero for a tier without instances because the proxy fails over at once.
 */
import { FleetMetric, ProxyMetric } from '../../contracts/metrics';

type Json = Record<string, any>;

/** The rewritten copy of `template`. */
export function legacyTemplate(template: unknown): Json {
  const t = structuredClone(template) as Json;
  const res = t.Resources as Record<string, Json>;
  for (const [id, r] of Object.entries(res)) {
    if (r.Type !== 'AWS::AutoScaling::ScalingPolicy' || r.Properties.PolicyType !== 'TargetTrackingScaling') continue;
    const spec = r.Properties.TargetTrackingConfiguration.CustomizedMetricSpecification;
    const running = spec.Metrics.find((m: Json) => m.Id === 'running').MetricStat;
    r.Properties.TargetTrackingConfiguration.CustomizedMetricSpecification = {
      Namespace: running.Metric.Namespace,
      MetricName: FleetMetric.RequestsRunning,
      Dimensions: running.Metric.Dimensions,
      Statistic: 'Average',
      Period: running.Period,
    };
    res[`${id}LegacyQueueScaleIn`] = {
      Type: 'AWS::AutoScaling::ScalingPolicy',
      Properties: {
        AutoScalingGroupName: r.Properties.AutoScalingGroupName,
        PolicyType: 'StepScaling',
        AdjustmentType: 'ChangeInCapacity',
        MetricAggregationType: 'Average',
        StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }],
      },
    };
    res[`${id}LegacyQueueScaleInAlarm`] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmActions: [{ Ref: `${id}LegacyQueueScaleIn` }],
        Namespace: running.Metric.Namespace,
        MetricName: FleetMetric.RequestsWaiting,
        Dimensions: running.Metric.Dimensions,
        Statistic: 'Average',
        Period: 60,
        EvaluationPeriods: 10,
        DatapointsToAlarm: 10,
        Threshold: 1,
        ComparisonOperator: 'LessThanOrEqualToThreshold',
      },
    };
  }
  for (const a of Object.values(res)) {
    if (a.Type !== 'AWS::CloudWatch::Alarm' || !Array.isArray(a.Properties.Metrics)) continue;
    const q = a.Properties.Metrics.find((m: Json) => m.MetricStat?.Metric?.MetricName === ProxyMetric.NoCapacityRequests);
    if (!q) continue;
    q.MetricStat.Metric.MetricName = ProxyMetric.PendingRequests;
    q.MetricStat.Stat = 'Maximum';
  }
  return t;
}
