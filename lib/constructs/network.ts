import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { EnvConfig } from '../config/schema';

/** Props of {@link Network}. */
export interface NetworkProps {
  /** The network slice of the validated config. */
  readonly network: EnvConfig['network'];
  /** AZ names (from config, so synth needs no account lookup). */
  readonly availabilityZones: readonly string[];
  /** Retention of the VPC flow log group. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * The environment's VPC: a new one with public subnets (public ALB, NAT) and private subnets with
 * egress (GPU instances, proxy tasks, internal ALB, pre-warm function), or an existing VPC by id.
 */
export class Network extends Construct {
  /** The VPC every other construct deploys into. */
  readonly vpc: ec2.IVpc;
  /** NAT gateways this construct created: 0 in an existing VPC, whose gateways it does not own. */
  readonly natGateways: number;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const n = props.network;
    if (n.vpcId) {
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: n.vpcId,
        availabilityZones: [...props.availabilityZones],
        privateSubnetIds: n.privateSubnetIds ?? [],
        publicSubnetIds: n.publicSubnetIds ?? [],
      });
      this.natGateways = 0;
      return;
    }
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(n.cidr),
      availabilityZones: [...props.availabilityZones],
      natGateways: n.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        // /20 leaves room for many GPU instances, Fargate tasks and ALB nodes per AZ.
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
      gatewayEndpoints: {
        // Image layers and model weights often come from S3-backed registries: keep them off NAT.
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
    });
    this.vpc = vpc;
    // One per AZ at most, however many the config asks for: count what the VPC really has.
    this.natGateways = vpc.node.findAll().filter((c) => c instanceof ec2.CfnNatGateway).length;
  }
}
