import { Annotations, Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { OPS_PATHS } from '../../contracts/proxy-config';
import type { EnvConfig } from '../config/schema';
import { AccessLogBucket } from './access-log-bucket';

/** Account id of the example certificate ARN in cdk.json; a real deployment must replace it. */
export const PLACEHOLDER_ACCOUNT = '123456789012';

/** Props of {@link PublicLoadBalancer}. */
export interface PublicLoadBalancerProps {
  /** VPC whose public subnets hold the load balancer. */
  readonly vpc: ec2.IVpc;
  /**
   * Listener settings: certificate, plain-HTTP permission, client CIDRs, the clients' DNS name, and
   * whether `/readyz` and `/metrics` are forwarded (`opsEndpoints` other than `private`).
   */
  readonly listener: Pick<EnvConfig['proxy'], 'certificateArn' | 'allowHttp' | 'allowedCidrs' | 'domainName' | 'opsEndpoints'>;
  /** Idle timeout: above the longest non-streamed generation. */
  readonly idleTimeout: Duration;
  /** How long access logs are kept. */
  readonly accessLogExpiration: Duration;
}

/**
 * The internet-facing ALB in front of the routing proxy: HTTPS with a current TLS policy and HTTP
 * redirected to it, or plain HTTP where the environment allows it (development without a
 * certificate). Only the configured client CIDRs reach it; every request is access-logged.
 */
export class PublicLoadBalancer extends Construct {
  /** The load balancer. */
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The listener that forwards to the proxy (HTTPS, or HTTP in development). */
  readonly listener: elbv2.ApplicationListener;
  /** Security group of the load balancer. */
  readonly securityGroup: ec2.SecurityGroup;
  /** The endpoint's base URL, `https://<domain or ALB DNS name>` (or `http://...` in development). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: PublicLoadBalancerProps) {
    super(scope, id);
    const { certificateArn, allowHttp, allowedCidrs, domainName, opsEndpoints } = props.listener;
    if (!certificateArn && !allowHttp) {
      throw new Error('PublicLoadBalancer certificateArn: got nothing, expected an ACM certificate ARN (or allowHttp true for a development environment)');
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Public ALB of the routing proxy: clients in, proxy tasks out',
      allowAllOutbound: false,
    });
    const ports = certificateArn ? [443, 80] : [80];
    for (const cidr of allowedCidrs) {
      for (const port of ports) {
        this.securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(port), `clients ${cidr} on ${port}`);
      }
    }
    if (allowedCidrs.includes('0.0.0.0/0')) {
      Validations.of(this.securityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: `proxy.allowedCidrs admits 0.0.0.0/0 on ${ports.join(' and ')}: this is the public OpenAI-compatible endpoint, every request needs an API key, and the CIDR list narrows it per environment.`,
      });
    }

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.securityGroup,
      idleTimeout: props.idleTimeout,
      dropInvalidHeaderFields: true,
      http2Enabled: true,
    });
    const logs = new AccessLogBucket(this, 'AccessLogs', { expiration: props.accessLogExpiration, loadBalancerName: 'public ALB' });
    this.loadBalancer.logAccessLogs(logs.bucket, 'public-alb');

    if (certificateArn) {
      this.listener = this.loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromArn(certificateArn)],
        // TLS 1.3 and 1.2 with post-quantum hybrid key exchange; no TLS 1.0/1.1.
        sslPolicy: elbv2.SslPolicy.TLS13_12_PQ,
        open: false,
      });
      this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443, open: false });
      this.url = `https://${domainName ?? this.loadBalancer.loadBalancerDnsName}`;
      if (certificateArn.split(':')[4] === PLACEHOLDER_ACCOUNT) {
        Annotations.of(this).addWarningV2('llm-tier-router:placeholderCertificate',
          `proxy.certificateArn uses the example account ${PLACEHOLDER_ACCOUNT}: replace it with the ARN of your ACM certificate before deploying`);
      }
    } else {
      this.listener = this.loadBalancer.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
      });
      this.url = `http://${domainName ?? this.loadBalancer.loadBalancerDnsName}`;
      Annotations.of(this).addWarningV2('llm-tier-router:plainHttp',
        'proxy.allowHttp is on and no certificate is set: API keys and prompts cross the internet unencrypted; use this for development only');
    }

    if (opsEndpoints === 'private') {
      // Readiness names every tier, its breaker and in-flight count; metrics show traffic and cost.
      // Neither is for the internet: the listener answers them itself, before any target sees them.
      // (Health checks use /healthz, which stays forwarded.)
      this.listener.addAction('HideOpsEndpoints', {
        priority: HIDE_OPS_ENDPOINTS_PRIORITY,
        conditions: [elbv2.ListenerCondition.pathPatterns([OPS_PATHS.readiness, OPS_PATHS.metrics])],
        action: elbv2.ListenerAction.fixedResponse(404, { contentType: 'application/json', messageBody: NOT_FOUND_BODY }),
      });
    }
  }
}

/** Listener rule priority of the 404 for `/readyz` and `/metrics`: before anything that forwards. */
export const HIDE_OPS_ENDPOINTS_PRIORITY = 1;

/** The 404 body in the OpenAI error shape the proxy uses for an unknown path. */
const NOT_FOUND_BODY = JSON.stringify({
  error: { message: 'Unknown path.', type: 'invalid_request_error', param: null, code: 'not_found' },
});
