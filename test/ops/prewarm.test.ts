import * as logs from 'aws-cdk-lib/aws-logs';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { FleetSpec } from '../../lib/config/fleets';
import { Prewarm, prewarmServers } from '../../lib/constructs/prewarm';
import { Ports } from '../../contracts/metrics';
import { fleetStack, nagFindings } from './fixture';

const { stack, vpc, fleets } = fleetStack();
const byName = Object.fromEntries(fleets.map((f) => [f.name, f.asg]));
const prewarm = new Prewarm(stack, 'Prewarm', {
  vpc,
  metricsNamespace: 'LlmTierRouter/test',
  settings: { timeoutMs: 15000 },
  schedule: {
    timeZone: 'Europe/Berlin',
    windows: [
      { name: 'BusinessDaysOutsideHours', expression: 'cron(0/5 0-7,19-23 ? * MON-FRI *)' },
      { name: 'OtherDays', expression: 'cron(0/5 * ? * SUN,SAT *)' },
    ],
  },
  logRetention: logs.RetentionDays.ONE_MONTH,
  fleets: [
    {
      name: 'router',
      autoScalingGroup: byName.router,
      connections: byName.router,
      servers: [
        { port: Ports.routerScorer, kind: 'chat', model: 'scorer' },
        { port: Ports.routerEmbedding, kind: 'embedding', model: 'embedder' },
      ],
    },
    { name: 'small', autoScalingGroup: byName.small, connections: byName.small, servers: [{ port: Ports.tierVllm, kind: 'chat', model: 'small' }] },
    { name: 'large', autoScalingGroup: byName.large, connections: byName.large, servers: [{ port: Ports.tierVllm, kind: 'chat', model: 'large' }] },
  ],
});
const template = Template.fromStack(stack);
const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
const fn = () => template.toJSON().Resources[logicalId(prewarm.function)].Properties;

describe('Prewarm', () => {
  it('runs the bundled handler on the current Node.js runtime with a deadline above the per-request timeout', () => {
    expect(fn()).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.handler', Timeout: 45, Architectures: ['arm64'] });
    expect(fn().LoggingConfig).toMatchObject({ LogFormat: 'JSON' });
  });

  it('is configured through its environment: fleets with ASG names and servers, namespace, timeout', () => {
    const env = fn().Environment.Variables;
    expect(env).toMatchObject({ METRICS_NAMESPACE: 'LlmTierRouter/test', TIMEOUT_MS: '15000', CONCURRENCY: '16' });
    const fleetsJson = JSON.stringify(env.FLEETS);
    expect(fleetsJson).toContain('\\"fleet\\":\\"router\\"');
    expect(fleetsJson).toContain('\\"kind\\":\\"embedding\\"');
    expect(fleetsJson).toContain(logicalId(byName.large as never));
  });

  it('runs in the private subnets behind its own security group', () => {
    const privateSubnets = vpc.privateSubnets.map((s) => ({ Ref: stack.getLogicalId(s.node.defaultChild as ec2.CfnSubnet) }));
    expect(fn().VpcConfig).toEqual({
      SubnetIds: privateSubnets,
      SecurityGroupIds: [{ 'Fn::GetAtt': [logicalId(prewarm.securityGroup as never), 'GroupId'] }],
    });
  });

  it('the fleets admit it on their vLLM ports and its own group lets those requests out', () => {
    const sgId = logicalId(prewarm.securityGroup as never);
    const sg = { 'Fn::GetAtt': [sgId, 'GroupId'] };
    for (const port of [8000, 8001]) {
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { SourceSecurityGroupId: sg, FromPort: port, ToPort: port, IpProtocol: 'tcp' });
    }
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress'))
      .filter((r) => JSON.stringify(r.Properties.GroupId).includes(`"${sgId}"`))
      .map((r) => `${r.Properties.FromPort}->${r.Properties.DestinationSecurityGroupId['Fn::GetAtt'][0]}`);
    const fleetSg = (name: string) => logicalId(byName[name].connections.securityGroups[0] as never);
    expect(egress.sort()).toEqual([`8000->${fleetSg('large')}`, `8000->${fleetSg('router')}`, `8000->${fleetSg('small')}`, `8001->${fleetSg('router')}`].sort());
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })]),
    });
  });

  it('may only describe groups and instances, publish to its namespace, write its log and manage its interfaces', () => {
    const roleId = logicalId(prewarm.function.role as never);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(roleId),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s: any) => [s.Action].flat()).sort();
    expect(actions).toEqual(
      [
        'autoscaling:DescribeAutoScalingGroups',
        'cloudwatch:PutMetricData',
        'ec2:AssignPrivateIpAddresses',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeInstances',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:UnassignPrivateIpAddresses',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:SendMessage',
      ].sort(),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'cloudwatch:PutMetricData',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'LlmTierRouter/test' } },
      }),
    );
    template.hasResourceProperties('AWS::IAM::Role', { RoleName: Match.absent(), ManagedPolicyArns: Match.absent() });
  });

  it('dead-letters failed invocations to an encrypted, TLS-only queue', () => {
    const queueArn = { 'Fn::GetAtt': [logicalId(prewarm.deadLetterQueue as never), 'Arn'] };
    expect(fn().DeadLetterConfig).toEqual({ TargetArn: queueArn });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 1 });
  });

  it('is invoked by EventBridge Scheduler, one schedule per window, in the IANA time zone', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 2);
    for (const expression of ['cron(0/5 0-7,19-23 ? * MON-FRI *)', 'cron(0/5 * ? * SUN,SAT *)']) {
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: expression,
        ScheduleExpressionTimezone: 'Europe/Berlin',
        State: 'ENABLED',
        Target: Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(prewarm.function as never), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(prewarm.deadLetterQueue as never), 'Arn'] } },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }),
        }),
      });
    }
    expect(Object.keys(prewarm.schedules).sort()).toEqual(['BusinessDaysOutsideHours', 'OtherDays']);
  });

  it('refuses to build without a window', () => {
    const { stack: other, vpc: otherVpc, fleets: otherFleets } = fleetStack();
    expect(() => new Prewarm(other, 'Prewarm', {
      vpc: otherVpc,
      metricsNamespace: 'LlmTierRouter/test',
      settings: { timeoutMs: 15000 },
      schedule: { timeZone: 'UTC', windows: [] },
      logRetention: logs.RetentionDays.ONE_MONTH,
      fleets: [{ name: 'small', autoScalingGroup: otherFleets[1].asg, connections: otherFleets[1].asg, servers: [{ port: 8000, kind: 'chat', model: 's' }] }],
    })).toThrow(/schedule.windows: got none/);
  });

  it('keeps its log for the configured retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('passes the AWS Solutions checks', () => {
    expect(nagFindings(prewarm)).toEqual([]);
  });
});

describe('prewarmServers', () => {
  it('warms generative servers with a chat completion and the embedding server with an embedding', () => {
    const spec = {
      name: 'router',
      servers: [
        { role: 'scorer', port: 8000, servedModelName: 'qwen' },
        { role: 'embedding', port: 8001, servedModelName: 'nomic' },
      ],
    } as unknown as FleetSpec;
    expect(prewarmServers(spec)).toEqual([
      { port: 8000, kind: 'chat', model: 'qwen' },
      { port: 8001, kind: 'embedding', model: 'nomic' },
    ]);
  });
});
