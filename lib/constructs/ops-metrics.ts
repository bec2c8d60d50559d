import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { HOURS_PER_MONTH, instanceSpec } from '../catalog/instances';
import type { FleetSpec } from '../config/fleets';
import {
  Dimension,
  FleetMetric,
  metricsNamespace,
  PrewarmMetric,
  ProxyMetric,
  ScoringFallbackReason,
} from '../../contracts/metrics';

/** One fleet as the operations views see it: its name, its Auto Scaling group and what an instance costs. */
export interface OpsFleet {
  /** `router` or a tier name: the `Fleet` dimension. */
  readonly name: string;
  /** Physical name of the fleet's Auto Scaling group (a token is fine). */
  readonly asgName: string;
  /** Catalog on-demand price of one instance, USD per hour. */
  readonly usdPerHour: number;
}

/** The operations view of a fleet spec: its name, its group's physical name and the catalog price. */
export function opsFleet(spec: FleetSpec, asgName: string): OpsFleet {
  return { name: spec.name, asgName, usdPerHour: instanceSpec(spec.instanceType).usdPerHour };
}

/** What the metric catalog needs to know about an environment. */
export interface OpsMetricsProps {
  /** Environment name: picks the CloudWatch namespace. */
  readonly envName: string;
  /** Tier names, cheapest first; the last is the "large" tier. */
  readonly tiers: readonly string[];
  /** Every fleet: the router and one per tier. */
  readonly fleets: readonly OpsFleet[];
}

/** The monthly budget spread evenly over the average month's hours: the hourly spend that keeps to it. */
export function budgetPerHour(monthlyBudgetUsd: number): number {
  return monthlyBudgetUsd / HOURS_PER_MONTH;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * Every CloudWatch metric and metric-math expression the alarms and the dashboard use, defined once
 * from the shared names in `lib/contracts/metrics.ts`. Not a construct: it creates no resources.
 */
export class OpsMetrics {
  /** CloudWatch namespace of the environment. */
  public readonly namespace: string;
  /** Tier names, cheapest first. */
  public readonly tiers: readonly string[];
  /** The most expensive tier, whose share of traffic shows router drift. */
  public readonly largeTier: string;
  /** Every fleet. */
  public readonly fleets: readonly OpsFleet[];

  constructor(props: OpsMetricsProps) {
    if (props.tiers.length < 2) {
      throw new Error(`OpsMetrics tiers: got ${JSON.stringify(props.tiers)}, expected at least two tier names`);
    }
    if (props.fleets.length === 0) {
      throw new Error('OpsMetrics fleets: got none, expected the router and every tier');
    }
    this.namespace = metricsNamespace(props.envName);
    this.tiers = props.tiers;
    this.largeTier = props.tiers[props.tiers.length - 1];
    this.fleets = props.fleets;
  }

  private proxy(metricName: string, statistic: string, period: Duration, dimensionsMap?: Record<string, string>) {
    return new cloudwatch.Metric({ namespace: this.namespace, metricName, statistic, period, dimensionsMap });
  }

  private fleetDimensions(fleet: OpsFleet): Record<string, string> {
    return { [Dimension.AutoScalingGroupName]: fleet.asgName, [Dimension.Fleet]: fleet.name };
  }

  /** Requests the proxy dispatched to one tier. */
  routedRequests(tier: string, period: Duration = FIVE_MINUTES): cloudwatch.Metric {
    return this.proxy(ProxyMetric.RoutedRequests, 'Sum', period, { [Dimension.Tier]: tier }).with({ label: tier });
  }

  private sumOf(metrics: Record<string, cloudwatch.IMetric>, label: string, period: Duration): cloudwatch.MathExpression {
    const expression = Object.keys(metrics).map((id) => `FILL(${id}, 0)`).join(' + ');
    return new cloudwatch.MathExpression({ expression, usingMetrics: metrics, label, period });
  }

  /** Requests routed to any tier. */
  totalRoutedRequests(period: Duration = FIVE_MINUTES): cloudwatch.MathExpression {
    const usingMetrics = Object.fromEntries(this.tiers.map((t, i) => [`r${i}`, this.routedRequests(t, period)]));
    return this.sumOf(usingMetrics, 'Routed requests', period);
  }

  /** Share (0-1) of routed requests that went to the large tier. */
  largeTierShare(period: Duration = Duration.minutes(15)): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'IF(total > 0, FILL(large, 0) / total, 0)',
      usingMetrics: { large: this.routedRequests(this.largeTier, period), total: this.totalRoutedRequests(period) },
      label: `${this.largeTier} tier share`,
      period,
    });
  }

  /** Routing score of each scored request; use a percentile statistic. */
  routeScore(statistic: string, period: Duration = FIVE_MINUTES): cloudwatch.Metric {
    return this.proxy(ProxyMetric.RouteScore, statistic, period).with({ label: `score ${statistic}` });
  }

  /** Time the proxy spent scoring a prompt. */
  routerLatency(statistic: string, period: Duration = FIVE_MINUTES): cloudwatch.Metric {
    return this.proxy(ProxyMetric.RouterLatency, statistic, period).with({ label: `scoring ${statistic}` });
  }

  /** Scoring fallbacks of every reason. */
  scoringFallbacks(period: Duration = FIVE_MINUTES): cloudwatch.MathExpression {
    const reasons = Object.values(ScoringFallbackReason);
    const usingMetrics = Object.fromEntries(
      reasons.map((reason, i) => [`f${i}`, this.proxy(ProxyMetric.ScoringFallbacks, 'Sum', period, { [Dimension.Reason]: reason })]),
    );
    return this.sumOf(usingMetrics, 'Scoring fallbacks', period);
  }

  /** Scoring fallbacks per routed request (0-1). */
  scoringFallbackRate(period: Duration = FIVE_MINUTES): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'IF(total > 0, fallbacks / total, 0)',
      usingMetrics: { fallbacks: this.scoringFallbacks(period), total: this.totalRoutedRequests(period) },
      label: 'Fallback rate',
      period,
    });
  }

  /** Time to first token of one tier. */
  timeToFirstToken(tier: string, statistic = 'p99', period: Duration = FIVE_MINUTES): cloudwatch.Metric {
    return this.proxy(ProxyMetric.TimeToFirstToken, statistic, period, { [Dimension.Tier]: tier }).with({ label: `${tier} ${statistic}` });
  }

  /** End-to-end latency of one tier. */
  endToEndLatency(tier: string, statistic = 'p99', period: Duration = FIVE_MINUTES): cloudwatch.Metric {
    return this.proxy(ProxyMetric.EndToEndLatency, statistic, period, { [Dimension.Tier]: tier }).with({ label: `${tier} ${statistic}` });
  }

  /** vLLM requests waiting per instance of a fleet (Average over the instances' samples). */
  requestsWaiting(fleet: OpsFleet, statistic = 'Average', period: Duration = Duration.minutes(1)): cloudwatch.Metric {
    return this.proxy(FleetMetric.RequestsWaiting, statistic, period, this.fleetDimensions(fleet)).with({ label: `${fleet.name} waiting` });
  }

  /** vLLM requests running per instance of a fleet. */
  requestsRunning(fleet: OpsFleet, statistic = 'Average', period: Duration = Duration.minutes(1)): cloudwatch.Metric {
    return this.proxy(FleetMetric.RequestsRunning, statistic, period, this.fleetDimensions(fleet)).with({ label: `${fleet.name} running` });
  }

  /** In-service instances of a fleet; needs group metrics enabled on the Auto Scaling group. */
  inServiceInstances(fleet: OpsFleet, period: Duration = Duration.minutes(1)): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/AutoScaling',
      metricName: 'GroupInServiceInstances',
      dimensionsMap: { AutoScalingGroupName: fleet.asgName },
      statistic: 'Average',
      period,
      label: `${fleet.name} in service`,
    });
  }

  /** The proxy's estimated token cost of one tier, USD. */
  estimatedCost(tier: string, period: Duration = Duration.hours(1)): cloudwatch.Metric {
    return this.proxy(ProxyMetric.EstimatedCostUsd, 'Sum', period, { [Dimension.Tier]: tier }).with({ label: `${tier} tokens` });
  }

  /**
   * Estimated spend per hour, USD: the proxy's token cost of every tier plus each fleet's average
   * in-service instances over the hour times the catalog price. The average instance count over an
   * hour times the hourly price is that hour's instance cost.
   */
  hourlySpend(): cloudwatch.MathExpression {
    const period = Duration.hours(1);
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    const terms: string[] = [];
    this.tiers.forEach((tier, i) => {
      usingMetrics[`c${i}`] = this.estimatedCost(tier, period);
      terms.push(`FILL(c${i}, 0)`);
    });
    this.fleets.forEach((fleet, i) => {
      usingMetrics[`i${i}`] = this.inServiceInstances(fleet, period);
      terms.push(`FILL(i${i}, 0) * ${fleet.usdPerHour}`);
    });
    return new cloudwatch.MathExpression({ expression: terms.join(' + '), usingMetrics, label: 'Estimated spend (USD/hour)', period });
  }

  /** Failed upstream attempts of one tier. */
  upstreamErrors(tier: string, period: Duration = FIVE_MINUTES): cloudwatch.Metric {
    return this.proxy(ProxyMetric.UpstreamErrors, 'Sum', period, { [Dimension.Tier]: tier }).with({ label: `${tier} upstream errors` });
  }

  /** Responses with status >= 500 the proxy sent to clients. */
  proxy5xx(period: Duration = FIVE_MINUTES): cloudwatch.Metric {
    return this.proxy(ProxyMetric.ClientErrors5xx, 'Sum', period).with({ label: 'Proxy 5xx' });
  }

  /** Proxy 5xx responses per routed request (0-1); 1 when only errors came back. */
  proxy5xxRate(period: Duration = FIVE_MINUTES): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'IF(total > 0, FILL(errors, 0) / total, IF(FILL(errors, 0) > 0, 1, 0))',
      usingMetrics: { errors: this.proxy5xx(period), total: this.totalRoutedRequests(period) },
      label: '5xx rate',
      period,
    });
  }

  /** Latency of the pre-warm function's requests to one fleet. */
  prewarmLatency(fleet: string, statistic = 'Maximum', period: Duration = FIVE_MINUTES): cloudwatch.Metric {
    return this.proxy(PrewarmMetric.WarmupLatency, statistic, period, { [Dimension.Fleet]: fleet }).with({ label: `${fleet} ${statistic}` });
  }

  /** Instances of one fleet that failed a warm-up request. */
  prewarmFailures(fleet: string, period: Duration = FIVE_MINUTES): cloudwatch.Metric {
    return this.proxy(PrewarmMetric.WarmupFailures, 'Sum', period, { [Dimension.Fleet]: fleet }).with({ label: `${fleet} failures` });
  }
}
