/**
 * A synthesized template rewritten to the scaling shapes the simulator should find healthy, so its
 * mechanics can be tested on a configuration that ought to pass:
 * - scale-in belongs to target tracking alone: step policies with negative steps (and their alarms)
 *   are removed, and target tracking follows load per instance (running + waiting, metric math);
 * - step policies on queue depth scale out only (kept as synthesized);
 * - scale-from-zero alarms read the Sum of the proxy's NoCapacityRequests over 10 s;
 * - the proxy spills the cheapest tier to the next one and holds requests for the largest tier.
 */
import { FleetMetric, ProxyMetric } from '../../contracts/metrics';

type Json = Record<string, any>;

/** The rewritten copy of `template`. */
export function fixedTemplate(template: unknown, options: { maxHoldMs?: number; holdQueueSize?: number; trackingPeriod?: number } = {}): Json {
  const t = structuredClone(template) as Json;
  const res = t.Resources as Record<string, Json>;
  const groups = Object.entries(res).filter(([, r]) => r.Type === 'AWS::AutoScaling::AutoScalingGroup');
  const groupOf = (policy: Json) => groups.find(([id]) => policy.Properties.AutoScalingGroupName?.Ref === id)?.[1];

  for (const [id, r] of Object.entries(res)) {
    if (r.Type !== 'AWS::AutoScaling::ScalingPolicy') continue;
    const p = r.Properties;
    if (p.PolicyType === 'StepScaling' && p.StepAdjustments.some((s: Json) => s.ScalingAdjustment < 0)) {
      delete res[id];
      for (const [alarmId, a] of Object.entries(res)) {
        if (a.Type === 'AWS::CloudWatch::Alarm' && (a.Properties.AlarmActions ?? []).some((x: Json) => x.Ref === id)) delete res[alarmId];
      }
    }
    if (p.PolicyType === 'TargetTrackingScaling') {
      const spec = p.TargetTrackingConfiguration.CustomizedMetricSpecification;
      const stat = (metricName: string) => ({
        Metric: { Namespace: spec.Namespace, MetricName: metricName, Dimensions: spec.Dimensions },
        Stat: 'Average',
        Period: options.trackingPeriod ?? spec.Period ?? 60,
      });
      p.TargetTrackingConfiguration.CustomizedMetricSpecification = {
        Metrics: [
          { Id: 'running', MetricStat: stat(FleetMetric.RequestsRunning), ReturnData: false },
          { Id: 'waiting', MetricStat: stat(FleetMetric.RequestsWaiting), ReturnData: false },
          { Id: 'load', Expression: 'running + waiting', Label: 'load per instance', ReturnData: true },
        ],
      };
      p.TargetTrackingConfiguration.DisableScaleIn = false;
    }
  }
  for (const [, a] of Object.entries(res)) {
    if (a.Type !== 'AWS::CloudWatch::Alarm' || !Array.isArray(a.Properties.Metrics)) continue;
    const pending = a.Properties.Metrics.find((m: Json) => m.MetricStat?.Metric?.MetricName === ProxyMetric.PendingRequests);
    if (!pending) continue;
    const policy = res[a.Properties.AlarmActions[0].Ref];
    if (!groupOf(policy)) throw new Error('scale-from-zero policy without its group');
    delete a.Properties.Metrics;
    Object.assign(a.Properties, {
      Namespace: pending.MetricStat.Metric.Namespace,
      MetricName: ProxyMetric.NoCapacityRequests,
      Dimensions: pending.MetricStat.Metric.Dimensions,
      Statistic: 'Sum',
      Period: 10,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  }
  for (const [, r] of Object.entries(res)) {
    if (r.Type !== 'AWS::ECS::TaskDefinition') continue;
    for (const c of r.Properties.ContainerDefinitions) {
      for (const e of c.Environment ?? []) {
        if (e.Name !== 'LLM_ROUTER_CONFIG') continue;
        const join = e.Value['Fn::Join'];
        const parts: unknown[] = join[1];
        // The document is a Join of literal JSON pieces and load balancer DNS names; tier objects are
        // closed by the piece that follows `"pricePer1kOutputTokensUsd":<n>`.
        let tier = 0;
        const count = parts.filter((x) => typeof x === 'string' && /"pricePer1kOutputTokensUsd":[0-9.e-]+\}/.test(x)).length;
        join[1] = parts.map((x) => {
          if (typeof x !== 'string') return x;
          return x.replace(/("pricePer1kOutputTokensUsd":[0-9.e-]+)\}/g, (_m, head: string) => {
            const last = tier === count - 1;
            tier++;
            const extra = last
              ? `,"whenEmpty":"hold","maxHoldMs":${options.maxHoldMs ?? 60000},"holdQueueSize":${options.holdQueueSize ?? 64}`
              : ',"whenEmpty":"spill"';
            return `${head}${extra}}`;
          });
        });
      }
    }
  }
  return t;
}
