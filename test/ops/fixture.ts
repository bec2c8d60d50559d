import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { OpsMetrics } from '../../lib/constructs/ops-metrics';
import { fargateTaskUsdPerHour, fixedNetworkUsdPerHour } from '../../lib/catalog/aws-prices';

/** The project's feature flags from cdk.json, so tests synthesize what `cdk synth` does. */
const FEATURE_FLAGS: Record<string, unknown> = JSON.parse(
  readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;

/** An app with the project's feature flags whose synths skip the CloudFormation schema pass. */
export function testApp(): App {
  return new App({ context: { ...FEATURE_FLAGS, '@aws-cdk/core:validateAgainstDefaultRules': false } });
}

/** A stack with a VPC, one small Auto Scaling group per fleet and an internal ALB with a target group each. */
export function fleetStack(app: App = testApp()) {
  const stack = new Stack(app, 'Ops', { env: { account: '111122223333', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    natGateways: 1,
  });
  const alb = new elbv2.ApplicationLoadBalancer(stack, 'Internal', { vpc, internetFacing: false });
  const listener = alb.addListener('Http', { port: 80, open: false });
  const fleets = ['router', 'small', 'large'].map((name) => {
    const asg = new autoscaling.AutoScalingGroup(stack, `${name}Asg`, {
      vpc,
      instanceType: new ec2.InstanceType('t3.micro'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      minCapacity: 0,
      maxCapacity: 2,
    });
    return { name, asg };
  });
  const targetGroups = fleets.map(({ name, asg }) => {
    const targetGroup = new elbv2.ApplicationTargetGroup(stack, `${name}Tg`, {
      vpc,
      port: 8000,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [asg],
    });
    return { name, targetGroup };
  });
  listener.addTargetGroups('Default', { targetGroups: targetGroups.map((t) => t.targetGroup) });
  const usd: Record<string, number> = { router: 1.861, small: 1.861, large: 3.00424 };
  const metrics = new OpsMetrics({
    envName: 'test',
    tiers: ['small', 'large'],
    fleets: fleets.map(({ name, asg }) => ({ name, asgName: asg.autoScalingGroupName, usdPerHour: usd[name] })),
    // 1 vCPU and 2 GB tasks, at least 2; two ALBs, one NAT gateway, three public IPv4 addresses.
    proxy: { clusterName: 'proxy-cluster', serviceName: 'proxy-service', usdPerTaskHour: fargateTaskUsdPerHour(1024, 2048), minTasks: 2 },
    fixedUsdPerHour: fixedNetworkUsdPerHour({ loadBalancers: 2, natGateways: 1, publicIpv4Addresses: 3 }),
  });
  return { app, stack, vpc, fleets, targetGroups, metrics };
}

/** Runs the AWS Solutions pack over one construct's subtree and returns the unacknowledged findings. */
export function nagFindings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
}

/** Alarm thresholds as the default config sets them. */
export const THRESHOLDS = {
  emails: ['ops@example.com'],
  monthlyBudgetUsd: 7300,
  anomalyThresholdUsd: 50,
  largeTierShareLimit: 0.25,
  fallbackRateLimit: 0.05,
  queueDepthWaiting: 50,
  p99TimeToFirstTokenMs: 2000,
  p99EndToEndMs: 60000,
  proxy5xxRateLimit: 0.01,
  costGuardEnabled: true,
} as const;
