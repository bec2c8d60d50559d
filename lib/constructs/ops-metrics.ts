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
  ShadowDropReason,
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

/** The proxy's Fargate service as the spend estimate sees it. */
export interface OpsProxyService {
  /** ECS cluster name (a token is fine): Container Insights dimension. */
  readonly clusterName: string;
  /** ECS service name (a token is fine): Container Insights dimension. */
  readonly serviceName: string;
  /** USD per hour of one task (`fargateTaskUsdPerHour`). */
  readonly usdPerTaskHour: number;
  /** Tasks assumed when Container Insights published no task count for the hour. */
  readonly minTasks: number;
}

/** What the metric catalog needs to know about an environment. */
export interface OpsMetricsProps {
  /** Environment name: picks the CloudWatch namespace. */
  readonly envName: string;
  /** Tier names, cheapest first; the last is the "large" tier. */
  readonly tiers: readonly string[];
  /** Every fleet: the router and one per tier. */
  readonly fleets: readonly OpsFleet[];
  /** The routing proxy's service. */
  readonly proxy: OpsProxyService;
  /** USD per hour of the load balancers, NAT gateways and public IPv4 addresses (`fixedNetworkUsdPerHour`). */
  readonly fixedUsdPerHour: number;
  /**
   * `shadow`: the proxy serves a fixed tier and publishes the router's decisions as `ShadowDecisions`,
   * which the large-tier share then reads. @default 'route'
   */
  readonly routingMode?: 'route' | 'shadow';
}

/** The monthly budget spread evenly over the average month's hours: the hourly spend that keeps to it. */
export function budgetPerHour(monthlyBudgetUsd: number): number {
  return monthlyBudgetUsd / HOURS_PER_MONTH;
}

const FIVE_MINUTES = Duration.minutes(5);

/** Prices as written in expressions: enough digits for a tenth of a cent per hour, no float noise. */
function round(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}

/** An Auto Scaling group metric of a fleet (group metrics must be enabled), averaged over `period`. */
function groupMetric(fleet: OpsFleet, metricName: string, label: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: 'AWS/AutoScaling', metricName, dimensionsMap: { AutoScalingGroupName: fleet.asgName }, statistic: 'Average', period, label });
}

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
  /** The routing proxy's service. */
  public readonly proxyService: OpsProxyService;
  /** Hourly charges that do not depend on load: load balancers, NAT gateways, public IPv4. */
  public readonly fixedUsdPerHour: number;
  /** How the proxy routes: `shadow` serves a fixed tier and records the router's decisions apart. */
  public readonly routingMode: 'route' | 'shadow';

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
    if (!(props.fixedUsdPerHour >= 0) || !(props.proxy.usdPerTaskHour >= 0)) {
      throw new Error(`OpsMetrics fixedUsdPerHour and proxy.usdPerTaskHour: got ${props.fixedUsdPerHour} and ${props.proxy.usdPerTaskHour}, expected prices >= 0`);
    }
    this.proxyService = props.proxy;
    this.fixedUsdPerHour = props.fixedUsdPerHour;
    this.routingMode = props.routingMode ?? 'route';
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

  /** Requests the router decided for one tier while the proxy served in shadow mode. */
  shadowDecisions(tier: string, period: Duration = FIVE_MINUTES): cloudwatch.Metric {
    return this.proxy(ProxyMetric.ShadowDecisions, 'Sum', period, { [Dimension.Tier]: tier }).with({ label: `${tier} (router's decision)` });
  }

  /**
   * Share (0-1) of the router's decisions that chose the large tier: of routed requests, or in
   * shadow mode of the recorded decisions (what is served there is the fixed serve tier, not the
   * router's choice, so it would say nothing about drift).
   */
  largeTierShare(period: Duration = Duration.minutes(15)): cloudwatch.MathExpression {
    const decided = (t: string) => (this.routingMode === 'shadow' ? this.shadowDecisions(t, period) : this.routedRequests(t, period));
    const all = Object.fromEntries(this.tiers.map((t, i) => [`r${i}`, decided(t)]));
    return new cloudwatch.MathExpression({
      expression: 'IF(total > 0, FILL(large, 0) / total, 0)',
      usingMetrics: { large: decided(this.largeTier), total: this.sumOf(all, this.routingMode === 'shadow' ? 'Router decisions' : 'Routed requests', period) },
      label: `${this.largeTier} tier share${this.routingMode === 'shadow' ? " of the router's decisions" : ''}`,
      period,
    });
  }

  /** Shadow comparisons: started, pairs stored, store errors (no dimension). */
  shadowComparisons(period: Duration = FIVE_MINUTES): cloudwatch.Metric[] {
    return [
      this.proxy(ProxyMetric.ShadowSamples, 'Sum', period).with({ label: 'comparisons started' }),
      this.proxy(ProxyMetric.ShadowPairsStored, 'Sum', period).with({ label: 'pairs stored' }),
      this.proxy(ProxyMetric.ShadowStoreErrors, 'Sum', period).with({ label: 'store errors' }),
    ];
  }

  /** Shadow comparisons dropped, one metric per reason. */
  shadowDropped(period: Duration = FIVE_MINUTES): cloudwatch.Metric[] {
    return Object.values(ShadowDropReason).map((reason) =>
      this.proxy(ProxyMetric.ShadowDropped, 'Sum', period, { [Dimension.Reason]: reason }).with({ label: `dropped: ${reason}` }),
    );
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

  /** Requests the proxy found a tier without capacity for (they start a tier at zero instances). */
  noCapacityRequests(tier: string, period: Duration = Duration.minutes(1)): cloudwatch.Metric {
    return this.proxy(ProxyMetric.NoCapacityRequests, 'Sum', period, { [Dimension.Tier]: tier }).with({ label: `${tier} no capacity` });
  }

  /** Requests in flight at the proxy per tier (a sampled gauge: for the dashboard, never for scaling). */
  pendingRequests(tier: string, period: Duration = Duration.minutes(1)): cloudwatch.Metric {
    return this.proxy(ProxyMetric.PendingRequests, 'Maximum', period, { [Dimension.Tier]: tier }).with({ label: `${tier} in flight` });
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
    return groupMetric(fleet, 'GroupInServiceInstances', `${fleet.name} in service`, period);
  }

  /**
   * Instances of a fleet that EC2 bills: pending (booting), in service and terminating (draining).
   * Needs group metrics enabled on the Auto Scaling group.
   */
  totalInstances(fleet: OpsFleet, period: Duration = Duration.minutes(1)): cloudwatch.Metric {
    return groupMetric(fleet, 'GroupTotalInstances', `${fleet.name} instances`, period);
  }

  /** Running tasks of the proxy's service (Container Insights, enabled on its cluster). */
  proxyTasks(period: Duration = Duration.minutes(1)): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: this.proxyService.clusterName, ServiceName: this.proxyService.serviceName },
      statistic: 'Average',
      period,
      label: 'proxy tasks',
    });
  }

  /**
   * The proxy's token cost of one tier, USD: output tokens at the tier's price per 1k. The prices
   * are derived from instance cost, so this attributes the fleets' spend to tiers; it is not spend.
   */
  estimatedCost(tier: string, period: Duration = Duration.hours(1)): cloudwatch.Metric {
    return this.proxy(ProxyMetric.EstimatedCostUsd, 'Sum', period, { [Dimension.Tier]: tier }).with({ label: `${tier} tokens` });
  }

  /**
   * Estimated spend per hour, USD: each fleet's average billed instances over the hour times its
   * catalog price, the proxy's average running tasks times the Fargate price of one task, and the
   * fixed hourly charges (load balancers, NAT gateways, public IPv4). Token cost is not added: its
   * prices come from the same instances. An average count over an hour times an hourly price is
   * that hour's cost.
   */
  hourlySpend(): cloudwatch.MathExpression {
    const period = Duration.hours(1);
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    const terms: string[] = [];
    this.fleets.forEach((fleet, i) => {
      usingMetrics[`i${i}`] = this.totalInstances(fleet, period);
      terms.push(`FILL(i${i}, 0) * ${fleet.usdPerHour}`);
    });
    usingMetrics.tasks = this.proxyTasks(period);
    terms.push(`FILL(tasks, ${this.proxyService.minTasks}) * ${round(this.proxyService.usdPerTaskHour)}`);
    terms.push(`${round(this.fixedUsdPerHour)}`);
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
