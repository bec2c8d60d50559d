import { MODEL_CATALOG, pinnedRevisions } from '../../lib/catalog/models';
import type { FleetSpec } from '../../lib/config/fleets';
import { Dimension, FleetMetric, internalListenerPort, metricsNamespace, ProxyMetric } from '../../contracts/metrics';
import { GPU_AMI_SSM_PARAMETER } from '../../lib/constructs/model-fleet-launch-template';
import { fleetAutoScalingGroupName, fleetLogGroupName } from '../../lib/constructs/model-fleet';
import { all, buildEnvironment, fleetResources, only, refersTo } from './fixture';

/** The vLLM arguments of every server in a boot script, in start order (quoting undone). */
function serverArgs(userData: string): string[][] {
  const text = userData.split(`'\\''`).join(`'`);
  return [...text.matchAll(/^VLLM_ARGS=\(([^)]*)\)$/gm)].map((m) => [...m[1].matchAll(/'([^']*)'/g)].map((w) => w[1]));
}

/** The flag -> value pairs of one server's arguments. */
function flags(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i + 1] !== undefined && !args[i + 1].startsWith('--')) {
      out[args[i]] = args[i + 1];
      i++;
    } else {
      out[args[i]] = '';
    }
  }
  return out;
}

const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

describe.each(ENVIRONMENTS)('%s fleets', (envName) => {
  const { config, specs, template } = buildEnvironment(envName);
  const byName = (name: string) => specs.find((s) => s.name === name) as FleetSpec;
  const fleetNames = specs.map((s) => s.name);

  test('one group, launch template and instance role per fleet: router, then each tier', () => {
    expect(fleetNames).toEqual(['router', ...config.tiers.map((t) => t.name)]);
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', specs.length);
    template.resourceCountIs('AWS::EC2::LaunchTemplate', specs.length);
  });

  describe.each(fleetNames)('%s', (name) => {
    const spec = byName(name);
    const groupName = fleetAutoScalingGroupName(envName, name);
    const { groupId, group, launchTemplateData: lt, userData } = fleetResources(template, groupName);
    const namespace = metricsNamespace(envName);

    test('launch template: instance type, DLAMI resolved at launch, IMDSv2 with hop limit 1 (no container reaches it), encrypted gp3 root with the fleet\'s throughput and IOPS, no key pair', () => {
      expect(lt.InstanceType).toBe(spec.instanceType);
      expect(lt.ImageId).toBe(`resolve:ssm:${GPU_AMI_SSM_PARAMETER}`);
      expect(lt.MetadataOptions).toEqual({ HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
      expect(lt.BlockDeviceMappings).toEqual([{
        DeviceName: '/dev/sda1',
        Ebs: {
          DeleteOnTermination: true, Encrypted: true, VolumeSize: spec.rootVolumeGiB, VolumeType: 'gp3',
          Throughput: spec.rootVolumeThroughputMiBps, Iops: spec.rootVolumeIops,
        },
      }]);
      expect(lt.KeyName).toBeUndefined();
    });

    test('group: min and max from config, never DesiredCapacity, ELB health checks and instance warm-up with the fleet\'s own grace', () => {
      const configured = name === 'router' ? config.router : config.tiers.find((t) => t.name === name)!;
      expect(spec.healthCheckGraceSeconds).toBe(configured.healthCheckGraceSeconds);
      expect(group.Properties).toMatchObject({
        MinSize: String(spec.minCapacity),
        MaxSize: String(spec.maxCapacity),
        HealthCheckType: 'ELB',
        HealthCheckGracePeriod: spec.healthCheckGraceSeconds,
        DefaultInstanceWarmup: spec.healthCheckGraceSeconds,
        MetricsCollection: [{ Granularity: '1Minute' }],
      });
      expect(group.Properties.DesiredCapacity).toBeUndefined();
      expect(userData).toMatch(new RegExp(`^HEALTH_WAIT_SECONDS='${spec.healthCheckGraceSeconds}'$`, 'm'));
    });

    test('rolling updates and stack creation wait for each new instance\'s success signal, within the fleet\'s grace', () => {
      const resource = template.toJSON().Resources[groupId];
      const pause = `PT${spec.healthCheckGraceSeconds / 60}M`;
      expect(resource.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({
        MaxBatchSize: 1,
        WaitOnResourceSignals: true,
        PauseTime: pause,
        MinSuccessfulInstancesPercent: 100,
      });
      if (spec.minCapacity === 0) {
        expect(resource.CreationPolicy).toBeUndefined();
      } else {
        expect(resource.CreationPolicy).toEqual({ ResourceSignal: { Count: spec.minCapacity, Timeout: pause } });
      }
      // The boot script signals this group of this stack, by a literal logical id: no reference
      // from the launch template to the group, so no circular dependency.
      expect(userData).toMatch(new RegExp(`^STACK_NAME='LlmTierRouter-${envName}'$`, 'm'));
      expect(userData).toMatch(new RegExp(`^SIGNAL_RESOURCE='${groupId}'$`, 'm'));
    });

    test('group: private subnets, scaling notifications, rolling replacement one instance at a time', () => {
      const subnets = JSON.stringify(group.Properties.VPCZoneIdentifier);
      expect(subnets).toMatch(/privateSubnet/);
      expect(subnets).not.toMatch(/publicSubnet/);
      expect(group.Properties.NotificationConfigurations).toEqual([{
        TopicARN: { Ref: expect.any(String) },
        NotificationTypes: ['autoscaling:EC2_INSTANCE_LAUNCH', 'autoscaling:EC2_INSTANCE_LAUNCH_ERROR', 'autoscaling:EC2_INSTANCE_TERMINATE', 'autoscaling:EC2_INSTANCE_TERMINATE_ERROR'],
      }]);
      const rolling = (template.toJSON().Resources[groupId].UpdatePolicy as any).AutoScalingRollingUpdate;
      expect(rolling).toMatchObject({ MaxBatchSize: 1, MinInstancesInService: Math.min(spec.minCapacity, spec.maxCapacity - 1) });
    });

    test('boot script passes every vLLM flag with its config value, servers in start order, never --quantization', () => {
      const args = serverArgs(userData);
      expect(args).toHaveLength(spec.servers.length);
      const configured = name === 'router'
        ? [config.router.scorer, config.router.embedding]
        : [config.tiers.find((t) => t.name === name)!];
      configured.forEach((server, i) => {
        const model = MODEL_CATALOG[server.model];
        const tp = name === 'router' ? 1 : config.tiers.find((t) => t.name === name)!.tensorParallelSize;
        const pins = pinnedRevisions(model, server);
        expect(flags(args[i])).toEqual({
          '--model': server.hubModelId ?? model.builds[server.weightFormat],
          '--served-model-name': server.servedModelName ?? model.servedName,
          '--port': String(spec.servers[i].port),
          '--max-model-len': String(server.maxModelLen),
          '--max-num-batched-tokens': String(server.maxNumBatchedTokens),
          '--max-num-seqs': String(server.maxNumSeqs),
          '--tensor-parallel-size': String(tp),
          '--kv-cache-dtype': server.kvCacheDtype,
          '--gpu-memory-utilization': String(server.gpuMemoryUtilization),
          ...(model.runner === 'pooling' ? { '--runner': 'pooling' } : {}),
          ...(pins.revision ? { '--revision': pins.revision, '--tokenizer-revision': pins.revision } : {}),
          ...(model.remoteCode ? { '--trust-remote-code': '', '--code-revision': pins.codeRevision } : {}),
          ...Object.fromEntries((model.extraArgs ?? []).map((a) => [a, ''])),
        });
        if (model.remoteCode) expect(pins.revision).toMatch(/^[0-9a-f]{40}$/);
      });
      expect(userData).not.toContain('--quantization');
      expect(userData).toContain(`VLLM_IMAGE='vllm/vllm-openai:${config.vllm.imageTag}'`);
      expect(userData).toContain(`HF_TOKEN_SECRET_NAME='${config.vllm.huggingFaceTokenSecretName}'`);
      expect(userData).not.toMatch(/hf_[A-Za-z0-9]{20,}/);
    });

    test('metrics publisher sends the contract names with the group and fleet dimensions to the environment namespace', () => {
      const text = userData.split(`'\\''`).join(`'`);
      expect(text).toContain(`NAMESPACE='${namespace}'`);
      expect(text).toContain(`ASG_NAME='${groupName}'`);
      expect(text).toContain(`FLEET='${name}'`);
      expect(text).toContain(`METRIC_WAITING='${FleetMetric.RequestsWaiting}'`);
      expect(text).toContain(`METRIC_RUNNING='${FleetMetric.RequestsRunning}'`);
      expect(text).toContain(`METRIC_KV_CACHE='${FleetMetric.KvCacheUsage}'`);
      expect(text).toContain(`PORTS=(${spec.servers.map((s) => `'${s.port}'`).join(' ')})`);
    });

    test('one target group per server: least outstanding requests, /health, delays sized for long generations', () => {
      const targetGroupIds = JSON.stringify(group.Properties.TargetGroupARNs);
      const tgs = all(template, 'AWS::ElasticLoadBalancingV2::TargetGroup', () => true)
        .filter(([id]) => targetGroupIds.includes(`"${id}"`));
      expect(tgs.map(([, r]) => r.Properties.Port).sort()).toEqual(spec.servers.map((s) => s.port).sort());
      for (const [, tg] of tgs) {
        expect(tg.Properties).toMatchObject({
          Protocol: 'HTTP',
          TargetType: 'instance',
          HealthCheckPath: '/health',
          HealthCheckProtocol: 'HTTP',
          HealthCheckIntervalSeconds: 30,
          HealthCheckTimeoutSeconds: 10,
          HealthyThresholdCount: 2,
          UnhealthyThresholdCount: 5,
          Matcher: { HttpCode: '200' },
        });
        expect(tg.Properties.TargetGroupAttributes).toEqual(expect.arrayContaining([
          { Key: 'deregistration_delay.timeout_seconds', Value: String(config.longestGenerationSeconds) },
          { Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' },
        ]));
      }
    });

    const policiesOfGroup = () => all(template, 'AWS::AutoScaling::ScalingPolicy', (r) => refersTo(r.Properties.AutoScalingGroupName, groupId));
    const alarmsActingOn = (policyId: string) => all(template, 'AWS::CloudWatch::Alarm', (r) => JSON.stringify(r.Properties.AlarmActions ?? []).includes(`"${policyId}"`));

    test('step scaling on waiting requests per instance: out at the threshold for the configured seconds, bigger step far above, never in', () => {
      const s = config.scaling;
      const [, alarm] = only(template, 'AWS::CloudWatch::Alarm', (r) => r.Properties.MetricName === FleetMetric.RequestsWaiting
        && JSON.stringify(r.Properties.Dimensions).includes(`"${groupName}"`) && JSON.stringify(r.Properties.AlarmActions ?? []).includes('QueueScaleOut'));
      expect(alarm.Properties).toMatchObject({
        Namespace: namespace,
        Dimensions: [{ Name: Dimension.AutoScalingGroupName, Value: groupName }, { Name: Dimension.Fleet, Value: name }],
        Statistic: 'Average',
        Period: 10,
        EvaluationPeriods: s.scaleOutEvaluationSeconds / 10,
        DatapointsToAlarm: s.scaleOutEvaluationSeconds / 10,
        Threshold: s.queueDepthScaleOut,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      const policyId = alarm.Properties.AlarmActions[0].Ref as string;
      expect(template.toJSON().Resources[policyId].Properties).toEqual({
        AutoScalingGroupName: { Ref: groupId },
        PolicyType: 'StepScaling',
        AdjustmentType: 'ChangeInCapacity',
        MetricAggregationType: 'Average',
        EstimatedInstanceWarmup: spec.healthCheckGraceSeconds,
        StepAdjustments: [
          { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: s.queueDepthScaleOutLarge - s.queueDepthScaleOut, ScalingAdjustment: 1 },
          { MetricIntervalLowerBound: s.queueDepthScaleOutLarge - s.queueDepthScaleOut, ScalingAdjustment: 2 },
        ],
      });
    });

    test('target tracking on (running + waiting) per instance at the configured period is the only policy that scales in a serving tier; it holds the target while requests queue', () => {
      const s = config.scaling;
      const period = s.loadTrackingPeriodSeconds;
      expect(period).toBe(60);
      const maxSeqs = spec.servers.reduce((sum, server) => sum + server.maxNumSeqs, 0);
      // The large tier keeps more headroom (0.6) than the environment's default (0.7).
      const fraction = name === 'large' ? 0.6 : s.targetLoadFraction;
      expect(spec.targetLoadFraction ?? s.targetLoadFraction).toBe(fraction);
      const target = Math.round(fraction * maxSeqs * 100) / 100;
      const tracking = policiesOfGroup().filter(([, r]) => r.Properties.PolicyType === 'TargetTrackingScaling');
      expect(tracking).toHaveLength(1);
      const dimensions = [{ Name: Dimension.AutoScalingGroupName, Value: groupName }, { Name: Dimension.Fleet, Value: name }];
      const gauge = (Id: string, MetricName: string) => ({ Id, MetricStat: { Metric: { Namespace: namespace, MetricName, Dimensions: dimensions }, Stat: 'Average', Period: period }, ReturnData: false });
      const held = `IF(waiting >= ${s.queueDepthBlocksScaleIn} AND load < ${target}, ${target}, load)`;
      // A tier that may go to zero never reads 0 here: the idle policy removes its last instance.
      const tracked = spec.kind === 'tier' && spec.minCapacity === 0 ? `IF(load, ${held}, 0.01)` : held;
      expect(tracking[0][1].Properties).toEqual({
        AutoScalingGroupName: { Ref: groupId },
        PolicyType: 'TargetTrackingScaling',
        EstimatedInstanceWarmup: spec.healthCheckGraceSeconds,
        TargetTrackingConfiguration: {
          TargetValue: target,
          DisableScaleIn: false,
          CustomizedMetricSpecification: {
            Metrics: [
              gauge('running', FleetMetric.RequestsRunning),
              gauge('waiting', FleetMetric.RequestsWaiting),
              { Id: 'load', Expression: 'running + waiting', Label: 'running + waiting per instance', ReturnData: false, Period: period },
              {
                Id: 'tracked',
                Expression: tracked,
                Label: expect.any(String),
                ReturnData: true,
                Period: period,
              },
            ],
          },
        },
      });
      // Every step policy but the idle one only adds; none has a cooldown (simple scaling only).
      for (const [, policy] of policiesOfGroup()) {
        expect(policy.Properties.Cooldown).toBeUndefined();
        if (policy.Properties.AdjustmentType === 'ExactCapacity') continue;
        for (const step of policy.Properties.StepAdjustments ?? []) expect(step.ScalingAdjustment).toBeGreaterThan(0);
      }
    });

    test('a tier whose minimum is 0 goes to zero only after idleMinutesBeforeZero minutes with no request routed to it or held on it', () => {
      const alarms = all(template, 'AWS::CloudWatch::Alarm', (r) => JSON.stringify(r.Properties.Metrics ?? []).includes(ProxyMetric.RoutedRequests)
        && JSON.stringify(r.Properties.Metrics).includes(`"${groupName}"`));
      const exact = policiesOfGroup().filter(([, r]) => r.Properties.AdjustmentType === 'ExactCapacity');
      if (spec.kind !== 'tier' || spec.minCapacity !== 0) {
        expect([alarms.length, exact.length]).toEqual([0, 0]);
        return;
      }
      expect(alarms).toHaveLength(1);
      const minutes = config.scaling.idleMinutesBeforeZero;
      const props = alarms[0][1].Properties;
      expect(props).toMatchObject({
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        EvaluationPeriods: minutes,
        DatapointsToAlarm: minutes,
        TreatMissingData: 'notBreaching',
      });
      const dimensions = [{ Name: Dimension.AutoScalingGroupName, Value: groupName }, { Name: Dimension.Fleet, Value: name }];
      expect(props.Metrics).toEqual(expect.arrayContaining([
        expect.objectContaining({ Expression: 'FILL(routed, 0) + FILL(running, 0) + FILL(waiting, 0)', ReturnData: true }),
        expect.objectContaining({ Id: 'routed', MetricStat: { Metric: { Namespace: namespace, MetricName: ProxyMetric.RoutedRequests, Dimensions: [{ Name: Dimension.Tier, Value: name }] }, Period: 60, Stat: 'Sum' }, ReturnData: false }),
        expect.objectContaining({ Id: 'running', MetricStat: { Metric: { Namespace: namespace, MetricName: FleetMetric.RequestsRunning, Dimensions: dimensions }, Period: 60, Stat: 'Average' }, ReturnData: false }),
        expect.objectContaining({ Id: 'waiting', MetricStat: { Metric: { Namespace: namespace, MetricName: FleetMetric.RequestsWaiting, Dimensions: dimensions }, Period: 60, Stat: 'Average' }, ReturnData: false }),
      ]));
      const policyId = props.AlarmActions[0].Ref as string;
      expect(alarmsActingOn(policyId)).toHaveLength(1);
      expect(template.toJSON().Resources[policyId].Properties).toEqual({
        AutoScalingGroupName: { Ref: groupId },
        PolicyType: 'StepScaling',
        AdjustmentType: 'ExactCapacity',
        MetricAggregationType: 'Maximum',
        StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: 0 }],
      });
    });

    test('scheduled business-hours minimum only when enabled and different, never a desired capacity', () => {
      const actions = all(template, 'AWS::AutoScaling::ScheduledAction', (r) => refersTo(r.Properties.AutoScalingGroupName, groupId));
      const bh = config.businessHours;
      if (!bh.enabled || spec.businessHoursMinCapacity === spec.minCapacity) {
        expect(actions).toHaveLength(0);
        return;
      }
      // The default schedule, Mon-Fri 08:00-19:00 (cdk.json sets only `enabled`).
      expect(actions.map(([, r]) => r.Properties).sort((a, b) => (a.MinSize > b.MinSize ? -1 : 1))).toEqual([
        { AutoScalingGroupName: { Ref: groupId }, Recurrence: '0 8 * * 1-5', TimeZone: bh.timeZone, MinSize: spec.businessHoursMinCapacity },
        { AutoScalingGroupName: { Ref: groupId }, Recurrence: '0 19 * * 1-5', TimeZone: bh.timeZone, MinSize: spec.minCapacity },
      ]);
    });

    test('scale-from-zero on the proxy\'s no-capacity count, gated on the group wanting no instance, only for a tier whose minimum is 0', () => {
      const alarms = all(template, 'AWS::CloudWatch::Alarm', (r) => JSON.stringify(r.Properties.Metrics ?? []).includes(ProxyMetric.NoCapacityRequests)
        && JSON.stringify(r.Properties.Metrics).includes(`"${groupName}"`));
      if (spec.kind !== 'tier' || spec.minCapacity !== 0) {
        expect(alarms).toHaveLength(0);
        return;
      }
      expect(alarms).toHaveLength(1);
      const props = alarms[0][1].Properties;
      expect(props).toMatchObject({
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: config.scaling.noCapacityRequestsScaleFromZero,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      expect(props.Metrics).toEqual(expect.arrayContaining([
        expect.objectContaining({ Expression: 'IF(FILL(desired, 0) < 1, FILL(nocapacity, 0), 0)' }),
        expect.objectContaining({ Id: 'nocapacity', MetricStat: { Metric: { Namespace: namespace, MetricName: ProxyMetric.NoCapacityRequests, Dimensions: [{ Name: Dimension.Tier, Value: name }] }, Period: 60, Stat: 'Sum' }, ReturnData: false }),
        expect.objectContaining({ Id: 'desired', MetricStat: { Metric: { Namespace: 'AWS/AutoScaling', MetricName: 'GroupDesiredCapacity', Dimensions: [{ Name: 'AutoScalingGroupName', Value: groupName }] }, Period: 60, Stat: 'Maximum' }, ReturnData: false }),
      ]));
      const policyId = props.AlarmActions[0].Ref as string;
      expect(alarmsActingOn(policyId)).toHaveLength(1);
      expect(template.toJSON().Resources[policyId].Properties).toEqual({
        AutoScalingGroupName: { Ref: groupId },
        PolicyType: 'StepScaling',
        AdjustmentType: 'ChangeInCapacity',
        MetricAggregationType: 'Maximum',
        EstimatedInstanceWarmup: spec.healthCheckGraceSeconds,
        StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
      });
    });

    test('nothing else scales the group: one queue step policy, one target tracking policy, and scale-from-zero and idle-to-zero where the minimum is 0', () => {
      const expected = 2 + (spec.kind === 'tier' && spec.minCapacity === 0 ? 2 : 0);
      expect(policiesOfGroup()).toHaveLength(expected);
    });

    test('instance role: token secret by name, metrics only in the namespace, own log group, boot signal to this stack only, SSM core', () => {
      const profileArn = lt.IamInstanceProfile.Arn['Fn::GetAtt'][0] as string;
      const roleId = (template.toJSON().Resources[profileArn].Properties.Roles[0] as { Ref: string }).Ref;
      const [, policy] = only(template, 'AWS::IAM::Policy', (r) => refersTo(r.Properties.Roles, roleId));
      const statements = policy.Properties.PolicyDocument.Statement as any[];
      expect(statements).toHaveLength(4);
      expect(statements.find((s) => s.Action === 'cloudformation:SignalResource')).toEqual({
        Sid: 'SignalBootResult', Effect: 'Allow', Action: 'cloudformation:SignalResource', Resource: { Ref: 'AWS::StackId' },
      });
      const secret = statements.find((s) => s.Action === 'secretsmanager:GetSecretValue');
      expect(JSON.stringify(secret.Resource)).toContain(`:secret:${config.vllm.huggingFaceTokenSecretName}-??????`);
      expect(statements.find((s) => s.Action === 'cloudwatch:PutMetricData')).toEqual({
        Sid: 'PutFleetMetrics', Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': namespace } },
      });
      const [logGroupId] = only(template, 'AWS::Logs::LogGroup', (r) => r.Properties.LogGroupName === fleetLogGroupName(envName, name));
      const logs = statements.find((s) => JSON.stringify(s.Action).includes('logs:PutLogEvents'));
      expect(logs.Action).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(logs.Resource).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
      const role = template.toJSON().Resources[roleId].Properties;
      expect(JSON.stringify(role.ManagedPolicyArns)).toContain('AmazonSSMManagedInstanceCore');
      expect(role.ManagedPolicyArns).toHaveLength(1);
    });
  });

  test('internal ALB: private, idle timeout covers the longest generation, access logs on, only the routing proxy gets in', () => {
    const [albId, alb] = only(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer', (r) => r.Properties.Scheme === 'internal');
    const attrs = Object.fromEntries((alb.Properties.LoadBalancerAttributes as { Key: string; Value: string }[]).map((a) => [a.Key, a.Value]));
    expect(Number(attrs['idle_timeout.timeout_seconds'])).toBeGreaterThanOrEqual(config.longestGenerationSeconds);
    expect(attrs['access_logs.s3.enabled']).toBe('true');
    expect(JSON.stringify(alb.Properties.Subnets)).not.toMatch(/publicSubnet/);
    const sgId = alb.Properties.SecurityGroups[0]['Fn::GetAtt'][0] as string;
    const sg = template.toJSON().Resources[sgId].Properties;
    expect(sg.SecurityGroupIngress ?? []).toEqual([]);
    const ingress = all(template, 'AWS::EC2::SecurityGroupIngress', (r) => refersTo(r.Properties.GroupId, sgId));
    const listenerPorts = all(template, 'AWS::ElasticLoadBalancingV2::Listener', (r) => refersTo(r.Properties.LoadBalancerArn, albId))
      .map(([, l]) => l.Properties.Port as number).sort();
    expect(ingress.map(([, r]) => r.Properties.FromPort as number).sort()).toEqual(listenerPorts);
    for (const [, r] of ingress) {
      expect(r.Properties.CidrIp).toBeUndefined();
      expect(r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).toMatch(/^RoutingProxyServiceSecurityGroup/);
    }
  });

  test('one listener per served endpoint on the port scheme of the metrics contract', () => {
    const expected: number[] = [];
    let tier = 0;
    for (const spec of specs) {
      for (const server of spec.servers) expected.push(internalListenerPort(server.role, spec.kind === 'tier' ? tier : 0));
      if (spec.kind === 'tier') tier++;
    }
    const [albId] = only(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer', (r) => r.Properties.Scheme === 'internal');
    const listeners = all(template, 'AWS::ElasticLoadBalancingV2::Listener', (r) => refersTo(r.Properties.LoadBalancerArn, albId));
    expect(listeners.map(([, l]) => l.Properties.Port).sort()).toEqual(expected.sort());
    for (const [, l] of listeners) expect(l.Properties.Protocol).toBe('HTTP');
    expect(expected.slice(0, 3)).toEqual([9000, 9001, 9010]);
  });
});
