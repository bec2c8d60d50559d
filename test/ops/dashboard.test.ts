import { Template } from 'aws-cdk-lib/assertions';
import { OpsDashboard } from '../../lib/constructs/dashboard';
import { FleetMetric, PrewarmMetric, ProxyMetric } from '../../contracts/metrics';
import { fleetStack, nagFindings } from './fixture';

const { stack, metrics } = fleetStack();
const dashboard = new OpsDashboard(stack, 'Dashboard', {
  envName: 'test',
  metrics,
  monthlyBudgetUsd: 7300,
  prewarmFleets: ['router', 'small', 'large'],
});
const template = Template.fromStack(stack);

type Widget = { type: string; properties: Record<string, any> };

/** The dashboard body with every CloudFormation token replaced by a placeholder, parsed. */
function widgets(): Widget[] {
  const [resource] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = resource.Properties.DashboardBody;
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return JSON.parse(text).widgets;
}
const byTitle = (title: string) => {
  const found = widgets().find((w) => w.properties.title === title);
  expect(found).toBeDefined();
  return found!.properties;
};
/** Metric names in a widget's metric rows (math-expression rows have none). */
const metricNames = (props: Record<string, any>): string[] =>
  props.metrics.filter((row: unknown[]) => typeof row[0] === 'string' && row[0] !== '...' && row.length > 1 && typeof row[1] === 'string').map((row: string[]) => row[1]);

describe('OpsDashboard', () => {
  it('is named after the environment', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'LlmTierRouter-test' });
  });

  it('has one widget per concept', () => {
    expect(widgets().map((w) => w.properties.title)).toEqual([
      'Routed requests per tier and large-tier share',
      'Routing score percentiles',
      'Router latency and scoring fallbacks',
      'Estimated spend per hour (USD) against the budget',
      'Time to first token per tier',
      'End-to-end latency per tier',
      'vLLM queue per instance: waiting (left) and running (right)',
      'In-service instances per fleet',
      'Token cost per tier (USD/hour): attribution of the spend, not extra spend',
      'Requests in flight per tier (left) and requests that found no capacity (right)',
      'Upstream errors per tier and proxy 5xx',
      'Pre-warm latency (slowest instance) and failures',
    ]);
  });

  it('routing: requests per tier with the large share as an expression', () => {
    const props = byTitle('Routed requests per tier and large-tier share');
    expect(metricNames(props)).toContain(ProxyMetric.RoutedRequests);
    expect(JSON.stringify(props.metrics)).toContain('IF(total > 0, FILL(large, 0) / total, 0)');
  });

  it('score distribution as percentiles', () => {
    const stats = byTitle('Routing score percentiles').metrics.map((row: any[]) => row[row.length - 1].stat);
    expect(stats).toEqual(['p10', 'p50', 'p90', 'p99']);
  });

  it('spend per hour against a budget line of monthly budget / 730', () => {
    const props = byTitle('Estimated spend per hour (USD) against the budget');
    expect(props.annotations.horizontal).toEqual([expect.objectContaining({ value: 10, label: expect.stringMatching(/7300 USD\/month = 10 USD\/hour/) })]);
    expect(JSON.stringify(props.metrics)).toContain('GroupTotalInstances');
    expect(JSON.stringify(props.metrics)).toContain('RunningTaskCount');
    expect(JSON.stringify(props.metrics)).not.toContain(ProxyMetric.EstimatedCostUsd);
  });

  it('token cost per tier stays on the dashboard as attribution, apart from the spend', () => {
    const props = byTitle('Token cost per tier (USD/hour): attribution of the spend, not extra spend');
    expect(metricNames(props)).toEqual([ProxyMetric.EstimatedCostUsd, ProxyMetric.EstimatedCostUsd]);
    expect(props.stacked).toBe(true);
  });

  it('requests in flight and requests that found no capacity, per tier', () => {
    const props = byTitle('Requests in flight per tier (left) and requests that found no capacity (right)');
    expect(metricNames(props)).toEqual([ProxyMetric.PendingRequests, ProxyMetric.PendingRequests, ProxyMetric.NoCapacityRequests, ProxyMetric.NoCapacityRequests]);
  });

  it('latency per tier at p50 and p99', () => {
    for (const title of ['Time to first token per tier', 'End-to-end latency per tier']) {
      const rows = byTitle(title).metrics;
      expect(rows).toHaveLength(4);
      expect(rows.map((r: any[]) => r[r.length - 1].stat)).toEqual(['p50', 'p99', 'p50', 'p99']);
    }
    expect(metricNames(byTitle('Time to first token per tier'))).toContain(ProxyMetric.TimeToFirstToken);
  });

  it('queue depth waiting and running for every fleet', () => {
    const props = byTitle('vLLM queue per instance: waiting (left) and running (right)');
    const names = metricNames(props);
    expect(names.filter((n) => n === FleetMetric.RequestsWaiting)).toHaveLength(3);
    expect(names.filter((n) => n === FleetMetric.RequestsRunning)).toHaveLength(3);
  });

  it('in-service instances for every fleet', () => {
    expect(metricNames(byTitle('In-service instances per fleet'))).toEqual(Array(3).fill('GroupInServiceInstances'));
  });

  it('upstream errors per tier and proxy 5xx', () => {
    expect(metricNames(byTitle('Upstream errors per tier and proxy 5xx'))).toEqual([
      ProxyMetric.UpstreamErrors,
      ProxyMetric.UpstreamErrors,
      ProxyMetric.ClientErrors5xx,
    ]);
  });

  it('pre-warm latency and failures per fleet', () => {
    const names = metricNames(byTitle('Pre-warm latency (slowest instance) and failures'));
    expect(names.filter((n) => n === PrewarmMetric.WarmupLatency)).toHaveLength(3);
    expect(names.filter((n) => n === PrewarmMetric.WarmupFailures)).toHaveLength(3);
  });

  it('passes the AWS Solutions checks', () => {
    expect(nagFindings(dashboard)).toEqual([]);
  });
});
