import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EnvConfig } from './config/schema';
import { availabilityZones, fleetSpecs } from './config/fleets';
import { metricsNamespace } from '../contracts/metrics';
import { Network } from './constructs/network';
import { ModelFleets } from './constructs/model-fleets';
import { AlarmTopic } from './constructs/alarm-topic';
import { OpsMetrics, opsFleet } from './constructs/ops-metrics';
import { CostAlarms, FleetAlarms, ServiceAlarms } from './constructs/alarms';
import { OpsDashboard } from './constructs/dashboard';
import { Prewarm, prewarmServers } from './constructs/prewarm';
import { RoutingProxy } from './constructs/routing-proxy';
import { ShadowPairsBucket } from './constructs/shadow-pairs-bucket';
import { renderProxyConfig } from './proxy-config/render';
import { fargateTaskUsdPerHour, fixedNetworkUsdPerHour } from './catalog/aws-prices';
import { prewarmWindows } from './config/business-hours';

/** Props of {@link EnvironmentStack}. */
export interface EnvironmentStackProps extends StackProps {
  /** The validated configuration of the environment. */
  readonly config: EnvConfig;
}

/**
 * One environment of the tiered LLM endpoint. It only wires constructs: each receives the config
 * slice it needs and the outputs of the constructs before it.
 */
export class EnvironmentStack extends Stack {
  /** The environment's network. */
  readonly network: Network;
  /** Topic every alarm and scaling notification goes to. */
  readonly alarmTopic: AlarmTopic;
  /** The GPU fleets (router and tiers) behind the internal ALB. */
  readonly fleets: ModelFleets;
  /** The routing proxy behind the public ALB. */
  readonly routingProxy: RoutingProxy;
  /** The scheduled pre-warm function, when enabled. */
  readonly prewarm?: Prewarm;
  /** The environment's dashboard. */
  readonly dashboard: OpsDashboard;
  /** Where the proxy stores shadow comparison pairs, when `routing.shadowSampleRate` > 0. */
  readonly shadowPairs?: ShadowPairsBucket;

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    super(scope, id, props);
    const cfg = props.config;
    const logRetention = cfg.logRetentionDays as logs.RetentionDays;
    const specs = fleetSpecs(cfg);

    this.network = new Network(this, 'Network', {
      network: cfg.network,
      availabilityZones: availabilityZones(cfg),
      logRetention,
    });

    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', { envName: cfg.envName, emails: cfg.alarms.emails });

    this.fleets = new ModelFleets(this, 'Fleets', {
      vpc: this.network.vpc,
      fleets: specs,
      envName: cfg.envName,
      vllm: cfg.vllm,
      scaling: cfg.scaling,
      businessHours: cfg.businessHours,
      longestGenerationSeconds: cfg.longestGenerationSeconds,
      logRetentionDays: cfg.logRetentionDays,
      notificationTopic: this.alarmTopic.topic,
    });

    if (cfg.routing.shadowSampleRate > 0) {
      this.shadowPairs = new ShadowPairsBucket(this, 'ShadowPairs', {
        envName: cfg.envName,
        retention: Duration.days(cfg.routing.shadowRetentionDays),
      });
    }

    this.routingProxy = new RoutingProxy(this, 'RoutingProxy', {
      vpc: this.network.vpc,
      envName: cfg.envName,
      proxy: cfg.proxy,
      runtimeConfig: renderProxyConfig(
        cfg,
        this.fleets.internalLoadBalancer.endpoints,
        this.shadowPairs && { bucketName: this.shadowPairs.bucket.bucketName, prefix: this.shadowPairs.prefix },
      ),
      upstream: this.fleets.internalLoadBalancer,
      longestGenerationSeconds: cfg.longestGenerationSeconds,
      logRetention,
      shadowPairs: this.shadowPairs,
    });

    if (cfg.prewarm.enabled) {
      this.prewarm = new Prewarm(this, 'Prewarm', {
        vpc: this.network.vpc,
        metricsNamespace: metricsNamespace(cfg.envName),
        settings: cfg.prewarm,
        schedule: { timeZone: cfg.businessHours.timeZone, windows: prewarmWindows(cfg.businessHours, cfg.prewarm.intervalMinutes) },
        logRetention,
        fleets: this.fleets.fleets.map((f) => ({
          name: f.name,
          autoScalingGroup: f.autoScalingGroup,
          servers: prewarmServers(f.spec),
          connections: f,
        })),
      });
    }

    const metrics = new OpsMetrics({
      envName: cfg.envName,
      tiers: cfg.tiers.map((t) => t.name),
      fleets: this.fleets.fleets.map((f) => opsFleet(f.spec, f.autoScalingGroup.autoScalingGroupName)),
      proxy: {
        clusterName: this.routingProxy.service.cluster.clusterName,
        serviceName: this.routingProxy.service.service.serviceName,
        usdPerTaskHour: fargateTaskUsdPerHour(cfg.proxy.cpu, cfg.proxy.memoryMiB),
        minTasks: cfg.proxy.minTasks,
      },
      fixedUsdPerHour: fixedNetworkUsdPerHour({
        // The public ALB and the internal ALB.
        loadBalancers: 2,
        natGateways: this.network.natGateways,
        // The internet-facing ALB holds one public address per AZ it spans; each NAT gateway one.
        publicIpv4Addresses: this.network.vpc.publicSubnets.length + this.network.natGateways,
      }),
      routingMode: cfg.routing.mode,
    });
    const alarmBase = { envName: cfg.envName, metrics, topic: this.alarmTopic.topic };
    new CostAlarms(this, 'CostAlarms', { ...alarmBase, thresholds: cfg.alarms });
    new ServiceAlarms(this, 'ServiceAlarms', {
      ...alarmBase,
      thresholds: cfg.alarms,
      targetGroups: this.fleets.fleets.flatMap((f) => f.targetGroups.map((tg) => ({
        name: f.spec.servers.length > 1 ? `${f.name}-${tg.role}` : f.name,
        targetGroup: tg.targetGroup,
      }))),
    });
    new FleetAlarms(this, 'FleetAlarms', {
      ...alarmBase,
      thresholds: cfg.alarms,
      prewarmFleets: this.prewarm?.fleetNames,
      prewarmDeadLetterQueue: this.prewarm?.deadLetterQueue,
    });
    this.dashboard = new OpsDashboard(this, 'Dashboard', {
      envName: cfg.envName,
      metrics,
      monthlyBudgetUsd: cfg.alarms.monthlyBudgetUsd,
      prewarmFleets: this.prewarm?.fleetNames,
      shadowComparison: cfg.routing.shadowSampleRate > 0,
    });
  }
}
