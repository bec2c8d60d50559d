import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { Dimension, PrewarmMetric } from '../../contracts/metrics';
import type { FleetSummary } from './plan';

/** PutMetricData accepts at most 150 entries in one datum's `Values` array. */
export const MAX_VALUES_PER_DATUM = 150;

/**
 * Metric data for one run: per fleet, the failure count (always, so the failure alarm sees 0 rather
 * than missing data) and the latency of every successful request as a values array (only when there
 * is one, since an empty array is rejected).
 */
export function buildMetricData(summaries: readonly FleetSummary[], timestamp: Date): MetricDatum[] {
  const data: MetricDatum[] = [];
  for (const summary of summaries) {
    const dimensions = [{ Name: Dimension.Fleet, Value: summary.fleet }];
    data.push({
      MetricName: PrewarmMetric.WarmupFailures,
      Dimensions: dimensions,
      Timestamp: timestamp,
      Unit: 'Count',
      Value: summary.failedInstances,
    });
    for (let i = 0; i < summary.latenciesMs.length; i += MAX_VALUES_PER_DATUM) {
      data.push({
        MetricName: PrewarmMetric.WarmupLatency,
        Dimensions: dimensions,
        Timestamp: timestamp,
        Unit: 'Milliseconds',
        Values: summary.latenciesMs.slice(i, i + MAX_VALUES_PER_DATUM).map((ms) => Math.round(ms)),
      });
    }
  }
  return data;
}
