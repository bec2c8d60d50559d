import { ProxyMetric } from '../../contracts/metrics';
import { fleetAutoScalingGroupName } from '../../lib/constructs/model-fleet';
import { buildEnvironment, fleetResources, only } from '../fleets/fixture';
import { evaluateQueries, MetricRef } from './metric-math';

/**
 * The spend figure of a synthesized environment, evaluated from the alarm's own metric-math
 * expression with given metric values, against a hand computation from the price list.
 */
describe.each([
  // prod: 3 AZs and 3 NAT gateways; proxy tasks of 2 vCPU and 4 GB.
  ['prod', { router: 2, small: 4, large: 1.5 }, 2.5,
    2 * 1.861 + 4 * 1.861 + 1.5 * 3.00424 // GPU instances
    + 2.5 * (2 * 0.04048 + 4 * 0.004445) // Fargate tasks
    + 2 * 0.0225 + 3 * 0.045 + (3 + 3) * 0.005], // 2 ALBs, 3 NAT gateways, 3 ALB + 3 NAT public IPv4
  // dev: 2 AZs and 1 NAT gateway; proxy tasks of 1 vCPU and 2 GB.
  ['dev', { router: 1, small: 0, large: 0.25 }, 1,
    1 * 1.861 + 0 * 1.861 + 0.25 * 3.00424
    + 1 * (0.04048 + 2 * 0.004445)
    + 2 * 0.0225 + 1 * 0.045 + (2 + 1) * 0.005],
] as const)('%s hourly spend', (envName, instances, tasks, hand) => {
  const { template } = buildEnvironment(envName);
  const [, spendAlarm] = only(template, 'AWS::CloudWatch::Alarm', (r) => r.Properties.AlarmName === `${envName}-spend-per-hour-above-budget`);
  const groupOf = Object.fromEntries(Object.keys(instances).map((fleet) =>
    [JSON.stringify({ Ref: fleetResources(template, fleetAutoScalingGroupName(envName, fleet)).groupId }), fleet]));

  // Steady state: every billed instance is in service, so either group metric reads the same.
  const value = (m: MetricRef) => {
    if (m.metricName === 'GroupTotalInstances' || m.metricName === 'GroupInServiceInstances') return instances[groupOf[JSON.stringify(m.dimensions.AutoScalingGroupName)] as keyof typeof instances];
    if (m.metricName === 'RunningTaskCount') return tasks;
    // Token cost is attribution of the same instance-hours: a large value must not move the figure.
    if (m.metricName === ProxyMetric.EstimatedCostUsd) return 500;
    throw new Error(`unexpected metric ${m.metricName}`);
  };

  test('equals the hand computation: instance-hours x $/h, Fargate tasks, ALBs, NAT gateways and public IPv4', () => {
    expect(evaluateQueries(spendAlarm.Properties.Metrics, value)).toBeCloseTo(hand, 6);
  });

  test('reads every fleet and the proxy service, and no token cost', () => {
    const read: string[] = [];
    evaluateQueries(spendAlarm.Properties.Metrics, (m) => {
      read.push(m.metricName === 'GroupTotalInstances' ? groupOf[JSON.stringify(m.dimensions.AutoScalingGroupName)] : m.metricName);
      return value(m);
    });
    expect(read.sort()).toEqual([...Object.keys(instances), 'RunningTaskCount'].sort());
  });
});
