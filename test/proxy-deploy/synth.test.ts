import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { environmentStackName } from '../../lib/app';
import { EnvironmentStack, EnvironmentStackProps } from '../../lib/environment-stack';
import { RoutingProxy, ROUTING_PROXY_OUTPUTS } from '../../lib/constructs/routing-proxy';
import { renderProxyConfig } from '../../lib/proxy-config/render';
import { configFor, nagFindings, renderedConfig, testApp } from './fixture';

/** The environment stack with the routing proxy wired in, line for line as lib/environment-stack.ts will. */
class EnvironmentWithProxy extends EnvironmentStack {
  readonly routingProxy: RoutingProxy;

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    super(scope, id, props);
    const cfg = props.config;
    const logRetention = cfg.logRetentionDays as logs.RetentionDays;

    this.routingProxy = new RoutingProxy(this, 'RoutingProxy', {
      vpc: this.network.vpc,
      envName: cfg.envName,
      proxy: cfg.proxy,
      runtimeConfig: renderProxyConfig(cfg, this.fleets.internalLoadBalancer.endpoints),
      upstream: this.fleets.internalLoadBalancer,
      longestGenerationSeconds: cfg.longestGenerationSeconds,
      logRetention,
    });
  }
}

function environment(envName: string, app: App) {
  const config = configFor(envName);
  const stack = new EnvironmentWithProxy(app, environmentStackName(envName), {
    config,
    env: { account: '111122223333', region: config.region },
  });
  return { config, stack };
}

describe.each(['dev', 'prod'])('%s environment with the real fleets, synthesized without Docker', (envName) => {
  // prod also runs the CloudFormation schema pass that `cdk synth` runs.
  const app = testApp(envName === 'prod');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const { config, stack } = environment(envName, app);

  it('synthesizes with the cdk-nag gate on: no unacknowledged AwsSolutions finding', () => {
    expect(nagFindings(stack.routingProxy)).toEqual([]);
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
    template.hasOutput(ROUTING_PROXY_OUTPUTS.endpointUrl, {});
    template.hasOutput(ROUTING_PROXY_OUTPUTS.apiKeysSecretName, {});
    template.hasOutput(ROUTING_PROXY_OUTPUTS.logGroupName, {});
  });

  it('the internal load balancer admits the proxy tasks on every endpoint port', () => {
    const template = Template.fromStack(stack);
    const taskSg = stack.getLogicalId(stack.routingProxy.service.securityGroup.node.defaultChild as never);
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
