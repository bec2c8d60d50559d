import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { budgetPerHour, OpsMetrics } from './ops-metrics';

/** Props of {@link OpsDashboard}. */
export interface OpsDashboardProps {
  /** Environment name, in the dashboard name. */
  readonly envName: string;
  /** The environment's metric catalog. */
  readonly metrics: OpsMetrics;
  /** Monthly budget, drawn as the hourly line on the spend widget. */
  readonly monthlyBudgetUsd: number;
  /**
   * Fleets the pre-warm function warms.
   * @default - no pre-warm widget
   */
  readonly prewarmFleets?: readonly string[];
  /**
   * The proxy samples shadow comparisons: add their widget.
   * @default false
   */
  readonly shadowComparison?: boolean;
}

const WIDTH = 12;
const HEIGHT = 6;

/** Routed requests per tier (stacked) with the large tier's share on the right axis. */
export function routingWidget(m: OpsMetrics): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'Routed requests per tier and large-tier share',
    left: m.tiers.map((t) => m.routedRequests(t)),
    right: [m.largeTierShare(Duration.minutes(5))],
    stacked: false,
    leftYAxis: { label: 'requests / 5 min', showUnits: false, min: 0 },
    rightYAxis: { label: 'share', showUnits: false, min: 0, max: 1 },
    width: WIDTH,
    height: HEIGHT,
  });
}

/** Distribution of routing scores: where prompts fall against the threshold. */
export function scoreWidget(m: OpsMetrics): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'Routing score percentiles',
    left: ['p10', 'p50', 'p90', 'p99'].map((p) => m.routeScore(p)),
    leftYAxis: { min: 0, max: 1, showUnits: false },
    width: WIDTH,
    height: HEIGHT,
  });
}

/** Time spent scoring prompts, with fallbacks on the right axis. */
export function routerWidget(m: OpsMetrics): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'Router latency and scoring fallbacks',
    left: [m.routerLatency('p50'), m.routerLatency('p99')],
    right: [m.scoringFallbacks()],
    leftYAxis: { label: 'ms', showUnits: false, min: 0 },
    rightYAxis: { label: 'fallbacks / 5 min', showUnits: false, min: 0 },
    width: WIDTH,
    height: HEIGHT,
  });
}

/** Time to first token per tier, p50 and p99. */
export function timeToFirstTokenWidget(m: OpsMetrics): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'Time to first token per tier',
    left: m.tiers.flatMap((t) => [m.timeToFirstToken(t, 'p50'), m.timeToFirstToken(t, 'p99')]),
    leftYAxis: { label: 'ms', showUnits: false, min: 0 },
    width: WIDTH,
    height: HEIGHT,
  });
}

/** End-to-end latency per tier, p50 and p99. */
export function endToEndWidget(m: OpsMetrics): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'End-to-end latency per tier',
    left: m.tiers.flatMap((t) => [m.endToEndLatency(t, 'p50'), m.endToEndLatency(t, 'p99')]),
    leftYAxis: { label: 'ms', showUnits: false, min: 0 },
    width: WIDTH,
    height: HEIGHT,
  });
}

/** vLLM waiting and running requests per instance, per fleet. */
export function queueWidget(m: OpsMetrics): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'vLLM queue per instance: waiting (left) and running (right)',
    left: m.fleets.map((f) => m.requestsWaiting(f)),
    right: m.fleets.map((f) => m.requestsRunning(f)),
    leftYAxis: { label: 'waiting', showUnits: false, min: 0 },
    rightYAxis: { label: 'running', showUnits: false, min: 0 },
    width: WIDTH,
    height: HEIGHT,
  });
}

/** In-service instances per fleet (Auto Scaling group metrics). */
export function instancesWidget(m: OpsMetrics): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'In-service instances per fleet',
    left: m.fleets.map((f) => m.inServiceInstances(f)),
    leftYAxis: { min: 0, showUnits: false },
    width: WIDTH,
    height: HEIGHT,
  });
}

/** Estimated spend per hour against the hourly rate of the monthly budget. */
export function spendWidget(m: OpsMetrics, monthlyBudgetUsd: number): cloudwatch.GraphWidget {
  const hourly = Math.round(budgetPerHour(monthlyBudgetUsd) * 100) / 100;
  return new cloudwatch.GraphWidget({
    title: 'Estimated spend per hour (USD) against the budget',
    left: [m.hourlySpend()],
    leftAnnotations: [{ value: hourly, label: `budget ${monthlyBudgetUsd} USD/month = ${hourly} USD/hour`, color: '#d62728' }],
    leftYAxis: { label: 'USD / hour', showUnits: false, min: 0 },
    width: WIDTH,
    height: HEIGHT,
  });
}

/**
 * Token cost per tier: the fleets' spend attributed to tiers by output tokens at each tier's price.
 * It is part of the spend above, not added to it.
 */
export function tokenCostWidget(m: OpsMetrics): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'Token cost per tier (USD/hour): attribution of the spend, not extra spend',
    left: m.tiers.map((t) => m.estimatedCost(t)),
    stacked: true,
    leftYAxis: { label: 'USD / hour', showUnits: false, min: 0 },
    width: WIDTH,
    height: HEIGHT,
  });
}

/** Requests in flight at the proxy per tier, and requests that found a tier without capacity. */
export function capacityWidget(m: OpsMetrics): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'Requests in flight per tier (left) and requests that found no capacity (right)',
    left: m.tiers.map((t) => m.pendingRequests(t)),
    right: m.tiers.map((t) => m.noCapacityRequests(t)),
    leftYAxis: { label: 'in flight', showUnits: false, min: 0 },
    rightYAxis: { label: 'no capacity / min', showUnits: false, min: 0 },
    width: WIDTH,
    height: HEIGHT,
  });
}

/** Failed upstream attempts per tier and the proxy's 5xx answers. */
export function errorsWidget(m: OpsMetrics): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'Upstream errors per tier and proxy 5xx',
    left: [...m.tiers.map((t) => m.upstreamErrors(t)), m.proxy5xx()],
    leftYAxis: { label: 'count / 5 min', showUnits: false, min: 0 },
    width: WIDTH,
    height: HEIGHT,
  });
}

/** Shadow comparisons started and stored (left) and dropped per reason (right). */
export function shadowWidget(m: OpsMetrics): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'Shadow comparisons: started, stored, dropped',
    left: m.shadowComparisons(),
    right: m.shadowDropped(),
    leftYAxis: { label: 'per 5 min', showUnits: false, min: 0 },
    rightYAxis: { label: 'dropped per 5 min', showUnits: false, min: 0 },
    width: WIDTH,
    height: HEIGHT,
  });
}

/** Warm-up latency per fleet (slowest instance) with failures on the right axis. */
export function prewarmWidget(m: OpsMetrics, fleets: readonly string[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'Pre-warm latency (slowest instance) and failures',
    left: fleets.map((f) => m.prewarmLatency(f, 'Maximum')),
    right: fleets.map((f) => m.prewarmFailures(f)),
    leftYAxis: { label: 'ms', showUnits: false, min: 0 },
    rightYAxis: { label: 'failed instances', showUnits: false, min: 0 },
    width: WIDTH,
    height: HEIGHT,
  });
}

/**
 * The environment's CloudWatch dashboard: routing, latency, fleets, spend and errors, each widget
 * built from the shared metric catalog so it shows exactly what the alarms watch.
 */
export class OpsDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OpsDashboardProps) {
    super(scope, id);
    const m = props.metrics;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `LlmTierRouter-${props.envName}`,
      defaultInterval: Duration.hours(6),
    });
    this.dashboard.addWidgets(routingWidget(m), scoreWidget(m));
    this.dashboard.addWidgets(routerWidget(m), spendWidget(m, props.monthlyBudgetUsd));
    this.dashboard.addWidgets(timeToFirstTokenWidget(m), endToEndWidget(m));
    this.dashboard.addWidgets(queueWidget(m), instancesWidget(m));
    this.dashboard.addWidgets(tokenCostWidget(m), capacityWidget(m));
    const last: cloudwatch.IWidget[] = [errorsWidget(m)];
    if (props.prewarmFleets && props.prewarmFleets.length > 0) last.push(prewarmWidget(m, props.prewarmFleets));
    this.dashboard.addWidgets(...last);
    if (props.shadowComparison) this.dashboard.addWidgets(shadowWidget(m));
  }
}
