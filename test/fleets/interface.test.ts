import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { buildApp } from '../../lib/app';
import { fleetSpecs } from '../../lib/config/fleets';
import { InternalListenerPorts, Ports } from '../../contracts/metrics';
import { ModelFleets } from '../../lib/constructs/model-fleets';
import { Network } from '../../lib/constructs/network';
import { cdkContext, load } from '../config/helpers';
import { all, buildEnvironment, fleetResources, only, refersTo } from './fixture';
import { fleetAutoScalingGroupName } from '../../lib/constructs/model-fleet';

function freshEnvironment(envName: string) {
  const app = new App({ context: { ...cdkContext(), env: envName, '@aws-cdk/core:validateAgainstDefaultRules': false } });
  const { environment } = buildApp(app, load({ env: envName }), { nag: false });
  return environment;
}

describe('fleet interface', () => {
  test('the environment stack exposes the fleets, router first, with their target groups and endpoints', () => {
    const { stack } = buildEnvironment('dev');
    const fleets = stack.fleets;
    expect(fleets.fleets.map((f) => f.name)).toEqual(['router', 'small', 'large']);
    expect(fleets.fleets.map((f) => f.spec.kind)).toEqual(['router', 'tier', 'tier']);
    expect(fleets.fleets[0].targetGroups.map((t) => [t.role, t.port])).toEqual([['scorer', Ports.routerScorer], ['embedding', Ports.routerEmbedding]]);
    expect(fleets.fleets[1].targetGroups.map((t) => [t.role, t.port])).toEqual([['generate', Ports.tierVllm]]);
    expect(fleets.fleet('large').autoScalingGroup).toBe(fleets.fleets[2].autoScalingGroup);
    expect(() => fleets.fleet('medium')).toThrow(/got fleet "medium", expected one of router, small, large/);

    const endpoints = fleets.internalLoadBalancer.endpoints.map((e) => ({ fleet: e.fleet, role: e.role, servedModelName: e.servedModelName, port: e.port }));
    expect(endpoints).toEqual([
      { fleet: 'router', role: 'scorer', servedModelName: 'qwen2.5-1.5b-instruct', port: InternalListenerPorts.routerScorer },
      { fleet: 'router', role: 'embedding', servedModelName: 'nomic-embed-text-v1.5', port: InternalListenerPorts.routerEmbedding },
      { fleet: 'small', role: 'generate', servedModelName: 'llama-3.1-8b-instruct', port: InternalListenerPorts.firstTier },
      { fleet: 'large', role: 'generate', servedModelName: 'llama-3.1-70b-instruct', port: InternalListenerPorts.firstTier + 1 },
    ]);
    const url = stack.resolve(fleets.internalLoadBalancer.endpoints[2].url);
    expect(JSON.stringify(url)).toContain('DNSName');
    expect(JSON.stringify(url)).toContain(':9010');
  });

  test('allowClient admits only the given security group, on every listener port', () => {
    const stack = freshEnvironment('dev');
    const proxy = new ec2.SecurityGroup(stack, 'ProxySg', { vpc: stack.network.vpc });
    stack.fleets.internalLoadBalancer.allowClient(proxy);
    const template = Template.fromStack(stack);
    const [, alb] = only(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer', (r) => r.Properties.Scheme === 'internal');
    const albSg = alb.Properties.SecurityGroups[0]['Fn::GetAtt'][0] as string;
    const proxySg = stack.getLogicalId(proxy.node.defaultChild as ec2.CfnSecurityGroup);
    const ingress = all(template, 'AWS::EC2::SecurityGroupIngress', (r) => refersTo(r.Properties.GroupId, albSg)
      && refersTo(r.Properties.SourceSecurityGroupId, proxySg));
    expect(ingress.map(([, r]) => r.Properties.FromPort).sort()).toEqual([9000, 9001, 9010, 9011]);
    for (const [, r] of ingress) {
      expect(r.Properties).toMatchObject({ IpProtocol: 'tcp', SourceSecurityGroupId: { 'Fn::GetAtt': [proxySg, 'GroupId'] } });
      expect(r.Properties.ToPort).toBe(r.Properties.FromPort);
    }
  });

  test('instances admit the load balancer on each vLLM port; the fleet is connectable, so a peer opening a port gets both rules', () => {
    const stack = freshEnvironment('dev');
    const router = stack.fleets.fleet('router');
    const peer = new ec2.SecurityGroup(stack, 'PeerSg', { vpc: stack.network.vpc, allowAllOutbound: false });
    peer.connections.allowTo(router, ec2.Port.tcp(Ports.routerEmbedding));
    const template = Template.fromStack(stack);
    const instanceSg = stack.getLogicalId(router.instanceSecurityGroup.node.defaultChild as ec2.CfnSecurityGroup);
    const peerSg = stack.getLogicalId(peer.node.defaultChild as ec2.CfnSecurityGroup);
    const ingress = all(template, 'AWS::EC2::SecurityGroupIngress', (r) => refersTo(r.Properties.GroupId, instanceSg));
    const fromPeer = ingress.filter(([, r]) => refersTo(r.Properties.SourceSecurityGroupId, peerSg));
    expect(fromPeer.map(([, r]) => r.Properties.FromPort)).toEqual([Ports.routerEmbedding]);
    const egress = all(template, 'AWS::EC2::SecurityGroupEgress', (r) => refersTo(r.Properties.GroupId, peerSg));
    expect(egress.map(([, r]) => [r.Properties.FromPort, r.Properties.DestinationSecurityGroupId])).toEqual([
      [Ports.routerEmbedding, { 'Fn::GetAtt': [instanceSg, 'GroupId'] }],
    ]);
    const fromAlb = ingress.filter(([, r]) => !refersTo(r.Properties.SourceSecurityGroupId, peerSg));
    expect(fromAlb.map(([, r]) => r.Properties.FromPort).sort()).toEqual([8000, 8001]);
    // Nothing else reaches the instances: no CIDR ingress at all.
    const sg = template.toJSON().Resources[instanceSg].Properties;
    expect(sg.SecurityGroupIngress ?? []).toEqual([]);
  });

  test('without a topic the fleets notify an encrypted topic whose key the Auto Scaling service-linked role may use', () => {
    const { template, stack } = buildEnvironment('dev');
    const topicId = stack.getLogicalId(stack.fleets.scalingNotifications.node.defaultChild as sns.CfnTopic);
    const topic = template.toJSON().Resources[topicId].Properties;
    expect(topic.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
    const key = template.toJSON().Resources[topic.KmsMasterKeyId['Fn::GetAtt'][0]].Properties;
    expect(key.EnableKeyRotation).toBe(true);
    const grant = key.KeyPolicy.Statement.find((s: { Sid?: string }) => s.Sid === 'AllowAutoScalingNotifications');
    expect(grant.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(JSON.stringify(grant.Condition.ArnEquals)).toContain('role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling');
    expect(grant.Condition.StringEquals['kms:ViaService']).toBe('sns.us-east-1.amazonaws.com');
    for (const spec of stack.fleets.fleets) {
      const { group } = fleetResources(template, fleetAutoScalingGroupName('dev', spec.name));
      expect(group.Properties.NotificationConfigurations[0].TopicARN).toEqual({ Ref: topicId });
    }
  });

  test('a given notification topic is used, and its key grants the Auto Scaling service-linked role', () => {
    const app = new App({ context: { ...cdkContext(), '@aws-cdk/core:validateAgainstDefaultRules': false } });
    const config = load({ env: 'dev' });
    const stack = new Stack(app, 'Custom', { env: { region: 'us-east-1', account: '123456789012' } });
    const network = new Network(stack, 'Network', { network: config.network, availabilityZones: ['us-east-1a', 'us-east-1b'], logRetention: 14 });
    const key = new kms.Key(stack, 'AlarmKey');
    const topic = new sns.Topic(stack, 'AlarmTopic', { masterKey: key });
    const fleets = new ModelFleets(stack, 'Fleets', {
      vpc: network.vpc,
      fleets: fleetSpecs(config),
      envName: 'dev',
      vllm: config.vllm,
      scaling: config.scaling,
      businessHours: config.businessHours,
      longestGenerationSeconds: config.longestGenerationSeconds,
      logRetentionDays: 14,
      notificationTopic: topic,
    });
    expect(fleets.scalingNotifications).toBe(topic);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::KMS::Key', 1);
    const keyPolicy = template.toJSON().Resources[stack.getLogicalId(key.node.defaultChild as kms.CfnKey)].Properties.KeyPolicy;
    expect(keyPolicy.Statement.map((s: { Sid?: string }) => s.Sid)).toContain('AllowAutoScalingNotifications');
  });
});

describe('a config override flows to the launch template and the vLLM flags', () => {
  const overrides = {
    'tiers.large.instanceType': 'g6e.12xlarge',
    'tiers.large.tensorParallelSize': '4',
    'tiers.large.weightFormat': 'fp8',
    'tiers.large.kvCacheDtype': 'auto',
  };
  const { template } = buildEnvironment('prod', overrides);
  const { launchTemplateData, userData } = fleetResources(template, fleetAutoScalingGroupName('prod', 'large'));
  const text = userData.split(`'\\''`).join(`'`);

  test('large tier on g6e.12xlarge with the FP8 70B build, tensor parallel 4, auto KV cache', () => {
    expect(launchTemplateData.InstanceType).toBe('g6e.12xlarge');
    expect(text).toContain(`'--model' 'neuralmagic/Meta-Llama-3.1-70B-Instruct-FP8'`);
    expect(text).toContain(`'--tensor-parallel-size' '4'`);
    expect(text).toContain(`'--kv-cache-dtype' 'auto'`);
    expect(text).not.toContain('--quantization');
    expect(text).not.toContain('AWQ');
  });

  test('the other fleets keep their settings', () => {
    const small = fleetResources(template, fleetAutoScalingGroupName('prod', 'small'));
    expect(small.launchTemplateData.InstanceType).toBe('g6e.xlarge');
    expect(small.userData).toContain('hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4');
  });
});
