import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CfnElement, Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { EnvConfig } from '../config/schema';
import type { FleetSpec, VllmServerSpec } from '../config/fleets';
import { metricsNamespace } from '../../contracts/metrics';
import { renderFleetUserData } from '../userdata/render';
import { FleetScaling } from './fleet-scaling';
import { FleetInstanceRole } from './model-fleet-role';
import { FleetLaunchTemplate } from './model-fleet-launch-template';
import { loadBalancerIdleTimeout, pascal } from './internal-lb';

/** Name of a fleet's Auto Scaling group: fixed, so the on-instance publisher can send it as a dimension. */
export function fleetAutoScalingGroupName(envName: string, fleet: string): string {
  return `llm-tier-router-${envName}-${fleet}`;
}

/** Name of a fleet's log group (boot, vLLM and publisher streams per instance). */
export function fleetLogGroupName(envName: string, fleet: string): string {
  return `/llm-tier-router/${envName}/fleet/${fleet}`;
}

/** Health-check settings of every fleet target group. */
export const TARGET_HEALTH_CHECK = {
  path: '/health',
  interval: Duration.seconds(30),
  // /health answers from the API process; a busy engine can still take seconds.
  timeout: Duration.seconds(10),
  healthyThresholdCount: 2,
  // Five misses (2.5 minutes) before a target leaves: a long prefill must not eject an instance.
  unhealthyThresholdCount: 5,
} as const;

/** One target group of a fleet: the endpoint of one vLLM server. */
export interface FleetTargetGroup {
  readonly role: VllmServerSpec['role'];
  /** vLLM port on the instances. */
  readonly port: number;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
}

/** Props of {@link ModelFleet}. */
export interface ModelFleetProps {
  /** The VPC; instances go in its private subnets. */
  readonly vpc: ec2.IVpc;
  /** The fleet to build. */
  readonly spec: FleetSpec;
  /** Environment name: names the group, the log group and the metrics namespace. */
  readonly envName: string;
  /** Image tag and Hugging Face token secret. */
  readonly vllm: EnvConfig['vllm'];
  /** Scaling thresholds. */
  readonly scaling: EnvConfig['scaling'];
  /** Business hours, when fleets keep their business-hours minimum. */
  readonly businessHours: EnvConfig['businessHours'];
  /** Sizes the targets' deregistration delay and the servers' keep-alive. */
  readonly longestGenerationSeconds: number;
  /**
   * Idle timeout of the load balancer in front of the servers: their keep-alive outlasts it.
   * @default - loadBalancerIdleTimeout(longestGenerationSeconds)
   */
  readonly loadBalancerIdleTimeout?: Duration;
  /** Retention of the fleet's log group. */
  readonly logRetention: logs.RetentionDays;
  /** Topic receiving launch, terminate and failure notifications of the group. */
  readonly notificationTopic: sns.ITopic;
}

/**
 * One fleet of identical GPU instances running vLLM under systemd: launch template, Auto Scaling
 * group, a target group per server, and the fleet's scaling policies. Stack creation and rolling
 * updates wait for each new instance to signal that every vLLM server on it answers /health, so a
 * broken boot fails the deploy (and rolls back) instead of replacing healthy instances.
 */
export class ModelFleet extends Construct implements ec2.IConnectable {
  /** `router` or the tier name. */
  readonly name: string;
  /** The fleet spec it was built from. */
  readonly spec: FleetSpec;
  /** The group of GPU instances. */
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The instances' security group. */
  readonly instanceSecurityGroup: ec2.SecurityGroup;
  /** One target group per vLLM server, in start order. */
  readonly targetGroups: ReadonlyArray<FleetTargetGroup>;
  /** The fleet's log group. */
  readonly logGroup: logs.LogGroup;
  /** The instance role. */
  readonly instanceRole: FleetInstanceRole;
  /** The launch template. */
  readonly launchTemplate: FleetLaunchTemplate;
  /** Scaling policies and scheduled actions. */
  readonly scaling: FleetScaling;

  constructor(scope: Construct, id: string, props: ModelFleetProps) {
    super(scope, id);
    const { spec } = props;
    this.name = spec.name;
    this.spec = spec;
    const namespace = metricsNamespace(props.envName);
    const groupName = fleetAutoScalingGroupName(props.envName, spec.name);
    // At most one hour (config validation): CloudFormation's cap on a rolling update's PauseTime.
    const grace = Duration.seconds(spec.healthCheckGraceSeconds);

    this.instanceSecurityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: props.vpc,
      description: `GPU instances of the ${spec.name} fleet: vLLM ports from the internal ALB only`,
      // Image layers, model weights and AWS APIs, through the NAT gateway.
      allowAllOutbound: true,
    });
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: fleetLogGroupName(props.envName, spec.name),
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.instanceRole = new FleetInstanceRole(this, 'InstanceRole', {
      fleetName: spec.name,
      huggingFaceTokenSecretName: props.vllm.huggingFaceTokenSecretName,
      metricsNamespace: namespace,
      logGroup: this.logGroup,
    });
    // The group's logical id reaches the boot script as a string resolved at synth: no reference, so
    // the launch template (which the group needs) does not depend on the group.
    const groupLogicalId = Lazy.string({
      produce: () => Stack.of(this).getLogicalId(this.autoScalingGroup.node.defaultChild as CfnElement),
    });
    const userData = renderFleetUserData({
      fleet: spec,
      region: Stack.of(this).region,
      vllmImageTag: props.vllm.imageTag,
      huggingFaceTokenSecretName: props.vllm.huggingFaceTokenSecretName,
      namespace,
      autoScalingGroupName: groupName,
      logGroupName: fleetLogGroupName(props.envName, spec.name),
      // Outlasts the load balancer's idle timeout, so the ALB never reuses a connection vLLM closed.
      keepAliveSeconds: (props.loadBalancerIdleTimeout ?? loadBalancerIdleTimeout(props.longestGenerationSeconds)).toSeconds() + 5,
      healthWaitSeconds: spec.healthCheckGraceSeconds,
      signal: { stackName: Stack.of(this).stackName, logicalResourceId: groupLogicalId },
    });
    this.launchTemplate = new FleetLaunchTemplate(this, 'LaunchTemplate', {
      fleet: spec,
      role: this.instanceRole.role,
      securityGroup: this.instanceSecurityGroup,
      userData: userData.script,
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      autoScalingGroupName: groupName,
      launchTemplate: this.launchTemplate.launchTemplate,
      minCapacity: spec.minCapacity,
      maxCapacity: spec.maxCapacity,
      // No desiredCapacity: a deploy must never reset what the scaling policies chose.
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: grace,
      }),
      defaultInstanceWarmup: grace,
      groupMetrics: [autoscaling.GroupMetrics.all()],
      notifications: [{ topic: props.notificationTopic, scalingEvents: autoscaling.ScalingEvents.ALL }],
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        // Keep serving while instances are replaced one at a time.
        minInstancesInService: Math.min(spec.minCapacity, spec.maxCapacity - 1),
        // Each new instance must signal SUCCESS (every vLLM server healthy) within the grace; a
        // FAILURE or no signal fails the update, which rolls back to the previous launch template.
        waitOnResourceSignals: true,
        pauseTime: grace,
        minSuccessPercentage: 100,
        suspendProcesses: [
          autoscaling.ScalingProcess.HEALTH_CHECK,
          autoscaling.ScalingProcess.REPLACE_UNHEALTHY,
          autoscaling.ScalingProcess.AZ_REBALANCE,
          autoscaling.ScalingProcess.ALARM_NOTIFICATION,
          autoscaling.ScalingProcess.SCHEDULED_ACTIONS,
        ],
      }),
    });
    // Stack creation waits for minCapacity instances to boot. With minCapacity 0 no instance starts,
    // so no creation policy: a count of 0 would wait for nothing.
    if (spec.minCapacity > 0) {
      (this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup).cfnOptions.creationPolicy = {
        resourceSignal: { count: spec.minCapacity, timeout: grace.toIsoString() },
      };
    }

    this.targetGroups = spec.servers.map((server) => ({
      role: server.role,
      port: server.port,
      targetGroup: new elbv2.ApplicationTargetGroup(this, `${pascal(server.role)}TargetGroup`, {
        vpc: props.vpc,
        port: server.port,
        protocol: elbv2.ApplicationProtocol.HTTP,
        targetType: elbv2.TargetType.INSTANCE,
        targets: [this.autoScalingGroup],
        loadBalancingAlgorithmType: elbv2.TargetGroupLoadBalancingAlgorithmType.LEAST_OUTSTANDING_REQUESTS,
        // In-flight generations finish before an instance leaves.
        deregistrationDelay: Duration.seconds(props.longestGenerationSeconds),
        healthCheck: {
          ...TARGET_HEALTH_CHECK,
          protocol: elbv2.Protocol.HTTP,
          port: 'traffic-port',
          healthyHttpCodes: '200',
        },
      }),
    }));

    this.scaling = new FleetScaling(this, 'Scaling', {
      autoScalingGroup: this.autoScalingGroup,
      autoScalingGroupName: groupName,
      fleet: spec,
      scaling: props.scaling,
      businessHours: props.businessHours,
      metricsNamespace: namespace,
    });
  }

  /** The instances' security group: peers reach the vLLM ports through it (both sides get their rules). */
  get connections(): ec2.Connections {
    return this.instanceSecurityGroup.connections;
  }
}
