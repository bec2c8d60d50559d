import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct, IConstruct } from 'constructs';
import { availabilityZones, fleetSpecs } from '../../lib/config/fleets';
import { loadEnvConfig } from '../../lib/config/load';
import type { EnvConfig } from '../../lib/config/schema';
import { Network } from '../../lib/constructs/network';
import { RoutingProxy } from '../../lib/constructs/routing-proxy';
import type { ProxyUpstream } from '../../lib/constructs/routing-proxy-service';
import { renderProxyConfig, UpstreamEndpoint } from '../../lib/proxy-config/render';
import { PROXY_CONFIG_ENV } from '../../lib/proxy-config/validate';

/** cdk.json context: feature flags and the per-environment overrides. */
export const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;

/** The validated config of `env` with `-c key=value` overrides, exactly as `cdk synth -c` loads it. */
export function configFor(env: string, overrides: Record<string, string> = {}): EnvConfig {
  return loadEnvConfig({ ...CDK_CONTEXT, env, ...overrides });
}

/**
 * An app with the project's feature flags; `schemaValidation` turns the CloudFormation schema pass
 * on. It skips bundling Lambda code (`aws:cdk:bundling-stacks: []`, as the CLI does for stacks it
 * does not deploy): nothing here reads the pre-warm bundle, which test/ops/prewarm.test.ts builds.
 */
export function testApp(schemaValidation = false): App {
  return new App({ context: { ...CDK_CONTEXT, '@aws-cdk/core:validateAgainstDefaultRules': schemaValidation, 'aws:cdk:bundling-stacks': [] } });
}

/**
 * Stand-in for the fleets' internal load balancer: a security group, one listener port per upstream
 * and URLs that hold a deploy-time token, as real load balancer DNS names do.
 */
export class FakeInternalLoadBalancer extends Construct implements ProxyUpstream {
  readonly securityGroup: ec2.SecurityGroup;
  readonly endpoints: readonly UpstreamEndpoint[];
  readonly clients: ec2.ISecurityGroup[] = [];

  constructor(scope: Construct, id: string, vpc: ec2.IVpc, cfg: EnvConfig) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc, allowAllOutbound: false, description: 'fake internal ALB' });
    const host = `${this.securityGroup.securityGroupId}.fleets.internal`;
    let port = 8000;
    this.endpoints = fleetSpecs(cfg).flatMap((fleet) =>
      fleet.servers.map((s) => {
        const p = port++;
        return { fleet: fleet.name, role: s.role, servedModelName: s.servedModelName, port: p, url: `http://${host}:${p}` };
      }),
    );
  }

  allowClient(peer: ec2.ISecurityGroup): void {
    this.clients.push(peer);
    for (const e of this.endpoints) {
      this.securityGroup.addIngressRule(peer, ec2.Port.tcp(e.port), `proxy to ${e.fleet} ${e.role}`);
    }
  }
}

/** What {@link proxyStack} builds. */
export interface ProxyStack {
  readonly app: App;
  readonly stack: Stack;
  readonly cfg: EnvConfig;
  readonly upstream: FakeInternalLoadBalancer;
  readonly proxy: RoutingProxy;
  readonly template: () => Template;
}

/** The environment stack's wiring of the routing proxy (the same lines lib/environment-stack.ts uses). */
export function proxyStack(cfg: EnvConfig, app: App = testApp()): ProxyStack {
  const stack = new Stack(app, `Proxy-${cfg.envName}`, { env: { account: '111122223333', region: cfg.region } });
  const logRetention = cfg.logRetentionDays as logs.RetentionDays;
  const network = new Network(stack, 'Network', {
    network: cfg.network,
    availabilityZones: availabilityZones(cfg),
    logRetention,
  });
  const upstream = new FakeInternalLoadBalancer(stack, 'Fleets', network.vpc, cfg);

  const proxy = new RoutingProxy(stack, 'RoutingProxy', {
    vpc: network.vpc,
    envName: cfg.envName,
    proxy: cfg.proxy,
    runtimeConfig: renderProxyConfig(cfg, upstream.endpoints),
    upstream,
    longestGenerationSeconds: cfg.longestGenerationSeconds,
    logRetention,
  });

  let cached: Template | undefined;
  return { app, stack, cfg, upstream, proxy, template: () => (cached ??= Template.fromStack(stack)) };
}

/** Runs the AWS Solutions pack over one subtree and returns the unacknowledged findings. */
export function nagFindings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
}

type Json = Record<string, any>;

/** The one resource of `type` in the template. */
export function onlyResource(template: Template, type: string): Json {
  const found = Object.values(template.findResources(type));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

/**
 * The proxy config document as the container will read it: the task definition's
 * `LLM_ROUTER_CONFIG` value, with deploy-time tokens replaced by `<token>`.
 */
export function renderedConfig(template: Template): Json {
  const container = onlyResource(template, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions[0];
  const entry = (container.Environment as Json[]).find((e) => e.Name === PROXY_CONFIG_ENV);
  if (!entry) throw new Error(`no ${PROXY_CONFIG_ENV} in the container environment`);
  const value = entry.Value;
  const text = typeof value === 'string'
    ? value
    : (value['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : '<token>')).join('');
  return JSON.parse(text);
}
