import { Match } from 'aws-cdk-lib/assertions';
import { defaultApiKeysSecretName } from '../../lib/constructs/routing-proxy-api-keys';
import { PROXY_CONTAINER_NAME } from '../../lib/constructs/routing-proxy-task';
import { ROUTING_PROXY_OUTPUTS } from '../../lib/constructs/routing-proxy';
import { metricsNamespace, Ports } from '../../contracts/metrics';
import { PROXY_HEALTH_PATH } from '../../lib/proxy-config/container';
import { firstTokenSeconds, proxyTimings } from '../../lib/proxy-config/timings';
import { PROXY_API_KEYS_ENV, PROXY_CONFIG_ENV } from '../../lib/proxy-config/validate';
import { configFor, onlyResource, proxyStack, renderedConfig } from './fixture';

const prod = proxyStack(configFor('prod'));
const template = prod.template();
const json = template.toJSON();
const logicalId = (c: { node: { defaultChild?: unknown } }) => prod.stack.getLogicalId(c.node.defaultChild as never);
const container = () => onlyResource(template, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions[0];
const timings = proxyTimings(prod.cfg.longestGenerationSeconds);

describe('context overrides reach the running proxy', () => {
  const overrides = {
    'routing.threshold': '0.7',
    'routing.keywordPolicy': 'bias',
    'routing.keywordBias': '0.1',
    'routing.fallbackTier': 'small',
    'routing.scorerTimeoutMs': '800',
    'routing.allowTierOverride': 'true',
    'tiers.large.pricePer1kOutputTokensUsd': '0.009',
    longestGenerationSeconds: '600',
  };
  const overridden = configFor('dev', overrides);
  const doc = renderedConfig(proxyStack(overridden).template());

  it('-c routing.threshold=0.7 and friends are in the task definition\'s LLM_ROUTER_CONFIG', () => {
    expect(doc.router).toMatchObject({ threshold: 0.7, keywordPolicy: 'bias', keywordBias: 0.1, fallbackTier: 'small' });
    expect(doc.router.scorer.timeoutMs).toBe(800);
    expect(doc.allowTierOverride).toBe(true);
    expect(doc.tiers.find((t: { name: string }) => t.name === 'large').pricePer1kOutputTokensUsd).toBe(0.009);
  });

  it('-c longestGenerationSeconds=600 moves the proxy deadlines with it', () => {
    const t = proxyTimings(600, firstTokenSeconds(overridden));
    expect(doc.dispatch).toEqual({ firstTokenTimeoutMs: t.firstTokenTimeoutMs, nonStreamTimeoutMs: 600_000, idleTimeoutMs: t.streamIdleTimeoutMs, upstreamKeepAliveMs: 50_000 });
    expect(doc.server.keepAliveTimeoutMs).toBe(t.keepAliveTimeoutMs);
  });

  it('the defaults render unchanged when nothing is overridden', () => {
    const plain = renderedConfig(prod.template());
    expect(plain.router.threshold).toBe(0.65);
    expect(plain.metrics).toMatchObject({ environment: 'prod', namespace: metricsNamespace('prod') });
    expect(plain.tiers.map((t: { baseUrl: string }) => t.baseUrl)).toEqual(['http://<token>.fleets.internal:8002', 'http://<token>.fleets.internal:8003']);
  });
});

describe('task definition', () => {
  it('is sized from config and runs the proxy on its port with a health check on /healthz', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: String(prod.cfg.proxy.cpu),
      Memory: String(prod.cfg.proxy.memoryMiB),
      NetworkMode: 'awsvpc',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
    });
    expect(container()).toMatchObject({
      Name: PROXY_CONTAINER_NAME,
      Essential: true,
      ReadonlyRootFilesystem: true,
      PortMappings: [{ ContainerPort: Ports.proxy, Protocol: 'tcp' }].map((m) => expect.objectContaining(m)),
      StopTimeout: timings.stopTimeoutSeconds,
    });
    expect(container().HealthCheck.Command.join(' ')).toContain(PROXY_HEALTH_PATH);
  });

  it('injects the API keys as an ECS secret and nothing else in plain environment values', () => {
    const secretId = logicalId(prod.proxy.apiKeys.secret as never);
    expect(container().Secrets).toEqual([{ Name: PROXY_API_KEYS_ENV, ValueFrom: { Ref: secretId } }]);
    expect(container().Environment.map((e: { Name: string }) => e.Name)).toEqual([PROXY_CONFIG_ENV]);
  });

  it('creates the secret with a generated key: no key text anywhere in the template', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: defaultApiKeysSecretName('prod'),
      GenerateSecretString: Match.objectLike({ PasswordLength: 48, ExcludePunctuation: true }),
      SecretString: Match.absent(),
    });
    const text = JSON.stringify(json);
    expect(text).not.toMatch(/sk-[A-Za-z0-9]/);
    expect(text).not.toMatch(/"apiKeys"|\\"apiKeys\\"/);
    expect(text).not.toContain('synth-check-key');
    expect(renderedConfig(template)).not.toHaveProperty('apiKeys');
  });

  it('lets the execution role read the secret', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('TaskDefinitionExecutionRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: { Ref: logicalId(prod.proxy.apiKeys.secret as never) },
          }),
        ]),
      },
    });
  });

  it('gives the task role nothing but PutMetricData in the environment\'s namespace', () => {
    const taskRole = logicalId(prod.proxy.task.taskDefinition.taskRole as never);
    const policies = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(taskRole));
    expect(policies.map((p) => p.Properties.PolicyDocument.Statement)).toEqual([[{
      Action: 'cloudwatch:PutMetricData',
      Effect: 'Allow',
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': metricsNamespace('prod') } },
    }]]);
    expect(json.Resources[taskRole].Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('logs to a group with the configured retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: prod.cfg.logRetentionDays });
    expect(container().LogConfiguration).toMatchObject({
      LogDriver: 'awslogs',
      Options: expect.objectContaining({ 'awslogs-group': { Ref: logicalId(prod.proxy.task.logGroup as never) }, mode: 'non-blocking' }),
    });
  });

  it('imports an existing secret by name instead of creating one', () => {
    const s = proxyStack(configFor('dev', { 'proxy.apiKeysSecretName': 'team/llm-keys' }));
    const t = s.template();
    t.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const text = JSON.stringify(t.toJSON());
    expect(text).toContain('secret:team/llm-keys');
    t.hasOutput(ROUTING_PROXY_OUTPUTS.apiKeysSecretName, { Value: 'team/llm-keys' });
    // ECS asks Secrets Manager with the partial ARN: the execution role may read both forms.
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('TaskDefinitionExecutionRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Effect: 'Allow',
          Resource: [
            'arn:aws:secretsmanager:us-east-1:111122223333:secret:team/llm-keys',
            'arn:aws:secretsmanager:us-east-1:111122223333:secret:team/llm-keys-??????',
          ],
        }]),
      },
    });
  });
});

describe('service', () => {
  const service = () => onlyResource(template, 'AWS::ECS::Service').Properties;

  it('runs in the private subnets with a circuit breaker that rolls back and never drops below the running count', () => {
    expect(service()).toMatchObject({
      LaunchType: 'FARGATE',
      DeploymentConfiguration: {
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
      },
      AvailabilityZoneRebalancing: 'ENABLED',
      NetworkConfiguration: { AwsvpcConfiguration: expect.objectContaining({ AssignPublicIp: 'DISABLED' }) },
    });
    expect(JSON.stringify(service().NetworkConfiguration.AwsvpcConfiguration.Subnets)).toMatch(/privateSubnet/);
    expect(service().DesiredCount).toBeUndefined();
  });

  it('runs on a cluster with enhanced Container Insights', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enhanced' }] });
  });

  it('scales between minTasks and maxTasks on CPU and on ALB requests per task', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: prod.cfg.proxy.minTasks,
      MaxCapacity: prod.cfg.proxy.maxTasks,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        TargetValue: prod.cfg.proxy.targetCpuPercent,
      }),
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }),
        TargetValue: prod.cfg.proxy.requestsPerTarget,
      }),
    });
  });

  it('prod never runs fewer than two tasks', () => {
    expect(prod.cfg.proxy.minTasks).toBeGreaterThanOrEqual(2);
    expect(() => configFor('prod', { 'proxy.minTasks': '1' })).toThrow(/proxy\.minTasks: got 1, expected >= 2 in prod/);
  });

  it('sits behind a target group that checks /healthz and drains long enough for the longest stream', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: Ports.proxy,
      Protocol: 'HTTP',
      TargetType: 'ip',
      HealthCheckPath: PROXY_HEALTH_PATH,
      Matcher: { HttpCode: '200' },
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'deregistration_delay.timeout_seconds', Value: String(timings.deregistrationDelaySeconds) },
        { Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' },
      ]),
    });
    expect(timings.deregistrationDelaySeconds).toBeGreaterThanOrEqual(prod.cfg.longestGenerationSeconds);
  });
});

describe('network reach of the tasks', () => {
  const taskSg = logicalId(prod.proxy.service.securityGroup as never);
  const upstreamSg = logicalId(prod.upstream.securityGroup as never);
  const lbSg = logicalId(prod.proxy.publicLoadBalancer.securityGroup as never);

  it('reaches only the internal ALB on its listener ports, and AWS APIs on 443', () => {
    const egress = json.Resources[taskSg].Properties.SecurityGroupEgress ?? [];
    const separate = Object.values(json.Resources as Record<string, { Type: string; Properties: Record<string, any> }>)
      .filter((r) => r.Type === 'AWS::EC2::SecurityGroupEgress' && JSON.stringify(r.Properties.GroupId).includes(taskSg))
      .map((r) => r.Properties);
    const rules = [...egress, ...separate].map((r: Record<string, any>) =>
      `${r.CidrIp ?? (JSON.stringify(r.DestinationSecurityGroupId).includes(upstreamSg) ? 'internal-alb' : JSON.stringify(r.DestinationSecurityGroupId))}:${r.FromPort}`);
    expect(rules.sort()).toEqual(['0.0.0.0/0:443', 'internal-alb:8000', 'internal-alb:8001', 'internal-alb:8002', 'internal-alb:8003']);
  });

  it('the internal ALB admits the tasks, and the tasks admit only the public ALB', () => {
    expect(prod.upstream.clients).toEqual([prod.proxy.service.securityGroup]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [taskSg, 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [lbSg, 'GroupId'] },
      FromPort: Ports.proxy,
      ToPort: Ports.proxy,
    });
    const intoTasks = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter((r) => JSON.stringify(r.Properties.GroupId).includes(taskSg));
    expect(intoTasks).toHaveLength(1);
    expect(json.Resources[taskSg].Properties.SecurityGroupIngress).toBeUndefined();
  });
});

describe('outputs', () => {
  it('give the endpoint URL, the API-keys secret name and the log group name', () => {
    template.hasOutput(ROUTING_PROXY_OUTPUTS.endpointUrl, { Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [Match.stringLikeRegexp('PublicLbLoadBalancer'), 'DNSName'] }]] } });
    template.hasOutput(ROUTING_PROXY_OUTPUTS.apiKeysSecretName, { Value: defaultApiKeysSecretName('prod') });
    template.hasOutput(ROUTING_PROXY_OUTPUTS.logGroupName, { Value: { Ref: logicalId(prod.proxy.task.logGroup as never) } });
  });

  it('give the cluster and service names used to reload the keys', () => {
    template.hasOutput(ROUTING_PROXY_OUTPUTS.clusterName, { Value: { Ref: logicalId(prod.proxy.service.cluster as never) } });
    template.hasOutput(ROUTING_PROXY_OUTPUTS.serviceName, { Value: { 'Fn::GetAtt': [logicalId(prod.proxy.service.service as never), 'Name'] } });
  });

  it('use the configured domain name for the endpoint URL', () => {
    const t = proxyStack(configFor('prod', { 'proxy.domainName': 'llm.example.com' })).template();
    t.hasOutput(ROUTING_PROXY_OUTPUTS.endpointUrl, { Value: 'https://llm.example.com' });
    t.hasOutput(ROUTING_PROXY_OUTPUTS.loadBalancerDnsName, { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('PublicLbLoadBalancer'), 'DNSName'] } });
    expect(() => configFor('prod', { 'proxy.domainName': 'https://llm.example.com' })).toThrow(/proxy\.domainName/);
  });
});
