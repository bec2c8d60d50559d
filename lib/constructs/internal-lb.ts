import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AccessLogBucket } from './access-log-bucket';

/** Role of a served endpoint: a tier's generator, or one of the router's two servers. */
export type EndpointRole = 'generate' | 'scorer' | 'embedding';

/** One endpoint served through the internal ALB. */
export interface InternalEndpoint {
  /** Fleet name: `router` or a tier name. */
  readonly fleet: string;
  readonly role: EndpointRole;
  /** Model name to send in requests (`--served-model-name`). */
  readonly servedModelName: string;
  /** Listener port on the load balancer. */
  readonly port: number;
  /** Base URL, `http://<alb dns>:<listener port>`. */
  readonly url: string;
}

/** What {@link InternalLoadBalancer.addEndpoint} needs. */
export interface AddEndpointOptions {
  readonly fleet: string;
  readonly role: EndpointRole;
  readonly servedModelName: string;
  /** Listener port. */
  readonly port: number;
  /** The fleet's target group for this endpoint. */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
}

/** Props of {@link InternalLoadBalancer}. */
export interface InternalLoadBalancerProps {
  /** The VPC; the load balancer goes in its private subnets. */
  readonly vpc: ec2.IVpc;
  /** Longest non-streamed generation: the idle timeout must outlast it. */
  readonly longestGenerationSeconds: number;
  /**
   * Longest wait of a streamed request for its first token (the proxy's first-token deadline): the
   * connection is silent while vLLM queues the request, so the idle timeout must outlast it too.
   * @default - no wait beyond longestGenerationSeconds
   */
  readonly firstTokenTimeoutSeconds?: number;
  /** Days access logs are kept. */
  readonly accessLogRetentionDays: number;
}

/** Seconds added to the longest generation for the idle timeout: queueing before the first byte. */
export const IDLE_TIMEOUT_MARGIN_SECONDS = 60;

/** ALB limit on the idle timeout, s. */
const ALB_MAX_IDLE_TIMEOUT_SECONDS = 4000;

/**
 * Idle timeout of the internal ALB: a non-streamed answer sends nothing until it is complete, and a
 * stream sends nothing between its headers and its first token while vLLM queues it.
 */
export function loadBalancerIdleTimeout(longestGenerationSeconds: number, firstTokenTimeoutSeconds = 0): Duration {
  return Duration.seconds(Math.min(Math.max(longestGenerationSeconds, firstTokenTimeoutSeconds) + IDLE_TIMEOUT_MARGIN_SECONDS, ALB_MAX_IDLE_TIMEOUT_SECONDS));
}

/**
 * The internal ALB in front of every fleet: one HTTP listener per served endpoint (router scorer,
 * router embedding, each tier), reached only by the security groups given to {@link allowClient}.
 */
export class InternalLoadBalancer extends Construct {
  /** The load balancer. */
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** Its security group: admits only clients added with {@link allowClient}. */
  readonly securityGroup: ec2.SecurityGroup;
  /** Idle timeout of the load balancer; the vLLM servers keep connections open longer. */
  readonly idleTimeout: Duration;
  /** Bucket of the access logs. */
  readonly accessLogs: AccessLogBucket;
  private readonly _endpoints: InternalEndpoint[] = [];
  private readonly clients: ec2.ISecurityGroup[] = [];

  constructor(scope: Construct, id: string, props: InternalLoadBalancerProps) {
    super(scope, id);
    this.idleTimeout = loadBalancerIdleTimeout(props.longestGenerationSeconds, props.firstTokenTimeoutSeconds);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Internal model ALB: the routing proxy in, the GPU fleets out',
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: this.securityGroup,
      idleTimeout: this.idleTimeout,
      dropInvalidHeaderFields: true,
    });
    this.accessLogs = new AccessLogBucket(this, 'AccessLogs', {
      expiration: Duration.days(props.accessLogRetentionDays),
      loadBalancerName: 'internal ALB',
    });
    this.loadBalancer.logAccessLogs(this.accessLogs.bucket, 'internal-alb');
  }

  /** Every served endpoint, in the order added. */
  get endpoints(): ReadonlyArray<InternalEndpoint> {
    return this._endpoints;
  }

  /** Adds a listener on `port` forwarding to the fleet's target group. */
  addEndpoint(options: AddEndpointOptions): InternalEndpoint {
    const taken = this._endpoints.find((e) => e.port === options.port);
    if (taken) {
      throw new Error(`InternalLoadBalancer: listener port ${options.port} of ${options.fleet} ${options.role} is already used by ${taken.fleet} ${taken.role}`);
    }
    const id = `${pascal(options.fleet)}${pascal(options.role)}`;
    this.loadBalancer.addListener(`${id}Listener`, {
      port: options.port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      // Closed by default: allowClient opens each listener port to named security groups only.
      open: false,
      defaultTargetGroups: [options.targetGroup],
    });
    for (const client of this.clients) {
      this.securityGroup.addIngressRule(client, ec2.Port.tcp(options.port), `${options.fleet} ${options.role} from client`);
    }
    const endpoint: InternalEndpoint = {
      fleet: options.fleet,
      role: options.role,
      servedModelName: options.servedModelName,
      port: options.port,
      url: `http://${this.loadBalancer.loadBalancerDnsName}:${options.port}`,
    };
    this._endpoints.push(endpoint);
    return endpoint;
  }

  /** Admits `peer` (e.g. the routing proxy's security group) on every listener port, present and future. */
  allowClient(peer: ec2.ISecurityGroup): void {
    this.clients.push(peer);
    for (const e of this._endpoints) {
      this.securityGroup.addIngressRule(peer, ec2.Port.tcp(e.port), `${e.fleet} ${e.role} from client`);
    }
  }
}

/** `small-gpu` -> `SmallGpu`: construct ids from fleet names and roles. */
export function pascal(name: string): string {
  return name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}
