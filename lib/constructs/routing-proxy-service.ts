import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import type { EnvConfig } from '../config/schema';
import { Ports } from '../../contracts/metrics';
import { PROXY_HEALTH_PATH } from '../proxy-config/container';
import type { UpstreamEndpoint } from '../proxy-config/render';

/** The internal load balancer in front of the fleets, as the proxy needs it. */
export interface ProxyUpstream {
  /** Security group of the internal load balancer. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** Every endpoint the proxy calls: the router's scorer and embedding servers and each tier. */
  readonly endpoints: readonly UpstreamEndpoint[];
  /** Admits `peer` on every listener of the internal load balancer. */
  allowClient(peer: ec2.ISecurityGroup): void;
}

/** Props of {@link RoutingProxyService}. */
export interface RoutingProxyServiceProps {
  /** VPC whose private subnets run the tasks. */
  readonly vpc: ec2.IVpc;
  /** The proxy's task definition. */
  readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The public listener that forwards to the tasks. */
  readonly listener: elbv2.ApplicationListener;
  /** The internal load balancer: the only network destination of the tasks besides AWS APIs. */
  readonly upstream: ProxyUpstream;
  /** Task counts and scaling targets. */
  readonly scaling: Pick<EnvConfig['proxy'], 'minTasks' | 'maxTasks' | 'targetCpuPercent' | 'requestsPerTarget'>;
  /** How long a deregistered task keeps serving its open streams. */
  readonly deregistrationDelay: Duration;
}

/**
 * The proxy's Fargate service in the private subnets: spread over the AZs, rolled out with a
 * circuit breaker that rolls back, reachable only from the public ALB, reaching only the internal
 * ALB (and AWS APIs over HTTPS), and scaled on CPU and on requests per task.
 */
export class RoutingProxyService extends Construct {
  /** The Fargate service. */
  readonly service: ecs.FargateService;
  /** The ECS cluster. */
  readonly cluster: ecs.Cluster;
  /** Security group of the tasks. */
  readonly securityGroup: ec2.SecurityGroup;
  /** Target group of the tasks behind the public listener. */
  readonly targetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: RoutingProxyServiceProps) {
    super(scope, id);
    const s = props.scaling;
    if (s.minTasks > s.maxTasks) {
      throw new Error(`RoutingProxyService maxTasks: got ${s.maxTasks}, expected >= minTasks (${s.minTasks})`);
    }
    const ports = [...new Set(props.upstream.endpoints.map((e) => e.port))].sort((a, b) => a - b);
    if (ports.length === 0) {
      throw new Error('RoutingProxyService upstream.endpoints: got none, expected the router and tier endpoints of the internal load balancer');
    }

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENHANCED,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Routing proxy tasks: public ALB in; internal ALB and AWS APIs out',
      allowAllOutbound: false,
    });
    for (const port of ports) {
      this.securityGroup.addEgressRule(props.upstream.securityGroup, ec2.Port.tcp(port), `internal ALB listener ${port}`);
    }
    // CloudWatch, Secrets Manager, ECR and CloudWatch Logs APIs, through the NAT gateway.
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs over HTTPS');
    props.upstream.allowClient(this.securityGroup);

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: props.taskDefinition,
      securityGroups: [this.securityGroup],
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      availabilityZoneRebalancing: ecs.AvailabilityZoneRebalancing.ENABLED,
      healthCheckGracePeriod: Duration.seconds(60),
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc: props.vpc,
      port: Ports.proxy,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      targets: [this.service],
      // Streams hold a task for minutes: send new requests to the least busy one.
      loadBalancingAlgorithmType: elbv2.TargetGroupLoadBalancingAlgorithmType.LEAST_OUTSTANDING_REQUESTS,
      deregistrationDelay: props.deregistrationDelay,
      healthCheck: {
        path: PROXY_HEALTH_PATH,
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });
    props.listener.addTargetGroups('Proxy', { targetGroups: [this.targetGroup] });

    const scaling = this.service.autoScaleTaskCount({ minCapacity: s.minTasks, maxCapacity: s.maxTasks });
    scaling.scaleOnCpuUtilization('CpuScaling', {
      targetUtilizationPercent: s.targetCpuPercent,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.minutes(5),
    });
    scaling.scaleOnRequestCount('RequestScaling', {
      requestsPerTarget: s.requestsPerTarget,
      targetGroup: this.targetGroup,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.minutes(5),
    });
  }
}
