import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { environmentStackName } from '../../lib/app';
import type { EnvConfig } from '../../lib/config/schema';
import { EnvironmentStack } from '../../lib/environment-stack';
import { RoutingProxy, ROUTING_PROXY_OUTPUTS } from '../../lib/constructs/routing-proxy';
import { renderProxyConfig } from '../../lib/proxy-config/render';
import { configFor, nagFindings, renderedConfig, testApp } from './fixture';

/**
 * The environment stack's routing proxy. Until lib/environment-stack.ts wires it, this adds it with
 * the same lines the stack will use; once the stack has `routingProxy`, that one is used.
 */
function routingProxyOf(stack: EnvironmentStack, cfg: EnvConfig): RoutingProxy {
  const wired = (stack as unknown as { routingProxy?: RoutingProxy }).routingProxy;
  if (wired) return wired;
  const logRetention = cfg.logRetentionDays as logs.RetentionDays;
  return new RoutingProxy(stack, 'RoutingProxy', {
    vpc: stack.network.vpc,
    envName: cfg.envName,
    proxy: cfg.proxy,
    runtimeConfig: renderProxyConfig(cfg, stack.fleets.internalLoadBalancer.endpoints),
    upstream: stack.fleets.internalLoadBalancer,
    longestGenerationSeconds: cfg.longestGenerationSeconds,
    logRetention,
  });
}

function environment(envName: string, app: App) {
  const config = configFor(envName);
  const stack = new EnvironmentStack(app, environmentStackName(envName), {
    config,
    env: { account: '111122223333', region: config.region },
  });
  return { config, stack, routingProxy: routingProxyOf(stack, config) };
}

describe.each(['dev', 'prod'])('%s environment with the real fleets, synthesized without Docker', (envName) => {
  // prod also runs the CloudFormation schema pass that `cdk synth` runs.
  const app = testApp(envName === 'prod');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const { config, stack, routingProxy } = environment(envName, app);

  it('synthesizes with the cdk-nag gate on: no unacknowledged AwsSolutions finding', () => {
    expect(nagFindings(routingProxy)).toEqual([]);
    expect(() => app.synth()).not.toThrow();
  });

  it('points the proxy at the internal load balancer\'s endpoints', () => {
    const template = Template.fromStack(stack);
    const doc = renderedConfig(template);
    const endpoints = stack.fleets.internalLoadBalancer.endpoints;
    expect(doc.tiers.map((t: { name: string }) => t.name)).toEqual(config.tiers.map((t) => t.name));
    for (const tier of doc.tiers as { name: string; baseUrl: string; model: string }[]) {
      const e = endpoints.find((x) => x.fleet === tier.name && x.role === 'generate')!;
      expect(tier.baseUrl).toBe(`http://<token>:${e.port}`);
      expect(tier.model).toBe(e.servedModelName);
    }
    // What the fleet simulator reads from the task definition to replay scale-from-zero.
    expect(doc.tiers.map((t: Record<string, unknown>) => [t.whenEmpty, t.maxHoldMs, t.holdQueueSize])).toEqual(
      config.tiers.map((t) => [t.whenEmpty, t.maxHoldSeconds * 1000, t.holdQueueSize]),
    );
    template.hasOutput(ROUTING_PROXY_OUTPUTS.endpointUrl, {});
    template.hasOutput(ROUTING_PROXY_OUTPUTS.apiKeysSecretName, {});
    template.hasOutput(ROUTING_PROXY_OUTPUTS.logGroupName, {});
  });

  it('a queued stream\'s silent upstream connection outlasts its first-token deadline at the internal load balancer and at vLLM', () => {
    const template = Template.fromStack(stack);
    const doc = renderedConfig(template);
    const firstTokenSeconds = doc.dispatch.firstTokenTimeoutMs / 1000;
    // It covers new capacity in a burst: the slowest tier's boot grace plus the scale-out alarm.
    expect(firstTokenSeconds).toBeGreaterThan(Math.max(...config.tiers.map((t) => t.healthCheckGraceSeconds)) + config.scaling.scaleOutEvaluationSeconds);
    const alb = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer', { Properties: { Scheme: 'internal' } }))[0];
    const idle = Number((alb.Properties.LoadBalancerAttributes as { Key: string; Value: string }[]).find((a) => a.Key === 'idle_timeout.timeout_seconds')!.Value);
    expect(idle).toBeGreaterThan(firstTokenSeconds);
    // Each vLLM server keeps connections open longer than the load balancer does.
    const userData = JSON.stringify(template.findResources('AWS::EC2::LaunchTemplate'));
    const keepAlives = [...userData.matchAll(/KEEP_ALIVE_SECONDS=[^0-9]*(\d+)/g)].map((m) => Number(m[1]));
    expect(keepAlives.length).toBeGreaterThan(0);
    for (const k of keepAlives) expect(k).toBeGreaterThan(idle);
  });

  it('the internal load balancer admits the proxy tasks on every endpoint port', () => {
    const template = Template.fromStack(stack);
    const taskSg = stack.getLogicalId(routingProxy.service.securityGroup.node.defaultChild as never);
    const albSg = stack.getLogicalId(stack.fleets.internalLoadBalancer.securityGroup.node.defaultChild as never);
    for (const e of stack.fleets.internalLoadBalancer.endpoints) {
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: { 'Fn::GetAtt': [albSg, 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [taskSg, 'GroupId'] },
        FromPort: e.port,
      });
    }
  });
});
