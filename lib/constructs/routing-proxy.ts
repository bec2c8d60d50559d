import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EnvConfig } from '../config/schema';
import type { ProxyConfigDocument } from '../proxy-config/render';
import { proxyTimings } from '../proxy-config/timings';
import { PublicLoadBalancer } from './public-lb';
import { PublicLoadBalancerWebAcl } from './public-lb-waf';
import { RoutingProxyApiKeys } from './routing-proxy-api-keys';
import { routingProxyImage } from './routing-proxy-image';
import { ProxyUpstream, RoutingProxyService } from './routing-proxy-service';
import { RoutingProxyTask } from './routing-proxy-task';

/** Logical ids of the stack outputs (the README's commands read them by these names). */
export const ROUTING_PROXY_OUTPUTS = {
  /** Base URL of the OpenAI-compatible endpoint (append `/v1`). */
  endpointUrl: 'ProxyEndpointUrl',
  /** DNS name of the public ALB: the target of the clients' DNS record. */
  loadBalancerDnsName: 'ProxyLoadBalancerDnsName',
  /** Name of the Secrets Manager secret holding the client API keys. */
  apiKeysSecretName: 'ProxyApiKeysSecretName',
  /** Log group of the proxy containers. */
  logGroupName: 'ProxyLogGroupName',
  /** ECS cluster of the proxy (for `aws ecs update-service`). */
  clusterName: 'ProxyClusterName',
  /** ECS service of the proxy (a new deployment reloads the API keys). */
  serviceName: 'ProxyServiceName',
} as const;

/** Props of {@link RoutingProxy}. */
export interface RoutingProxyProps {
  /** The environment's VPC: public subnets for the ALB, private subnets for the tasks. */
  readonly vpc: ec2.IVpc;
  /** Environment name: names the created API-keys secret and the WAF metrics. */
  readonly envName: string;
  /** The proxy slice of the validated config. */
  readonly proxy: EnvConfig['proxy'];
  /** The runtime config document, rendered by `renderProxyConfig` from the same config. */
  readonly runtimeConfig: ProxyConfigDocument;
  /** The internal load balancer in front of the fleets. */
  readonly upstream: ProxyUpstream;
  /** Longest non-streamed generation, s: sizes the ALB idle timeout and the drain times. */
  readonly longestGenerationSeconds: number;
  /** Retention of the proxy logs and the ALB access logs. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Where the proxy stores shadow comparison pairs; its task may write there.
   * @default - no shadow comparison (the proxy writes nowhere)
   */
  readonly shadowPairs?: ShadowPairsWriteTarget;
}

/** A place the proxy's task role may be allowed to write shadow comparison pairs to. */
export interface ShadowPairsWriteTarget {
  /** Lets `role` write pairs (and nothing more). */
  grantPut(role: iam.IRole): void;
}

/**
 * The public face of the endpoint: API keys, the public ALB (with its optional WAF), the proxy's
 * task and service, and the stack outputs clients need.
 */
export class RoutingProxy extends Construct {
  /** The client API keys. */
  readonly apiKeys: RoutingProxyApiKeys;
  /** The public load balancer. */
  readonly publicLoadBalancer: PublicLoadBalancer;
  /** The proxy's task definition. */
  readonly task: RoutingProxyTask;
  /** The proxy's Fargate service. */
  readonly service: RoutingProxyService;
  /** The web ACL, when `proxy.wafEnabled`. */
  readonly webAcl?: PublicLoadBalancerWebAcl;

  constructor(scope: Construct, id: string, props: RoutingProxyProps) {
    super(scope, id);
    const p = props.proxy;
    const timings = proxyTimings(props.longestGenerationSeconds);

    this.apiKeys = new RoutingProxyApiKeys(this, 'ApiKeys', {
      envName: props.envName,
      existingSecretName: p.apiKeysSecretName,
    });
    this.publicLoadBalancer = new PublicLoadBalancer(this, 'PublicLb', {
      vpc: props.vpc,
      listener: p,
      idleTimeout: Duration.seconds(timings.loadBalancerIdleTimeoutSeconds),
      accessLogExpiration: Duration.days(props.logRetention),
    });
    if (p.wafEnabled) {
      this.webAcl = new PublicLoadBalancerWebAcl(this, 'WebAcl', {
        loadBalancer: this.publicLoadBalancer.loadBalancer,
        rateLimit: p.wafRateLimit,
        metricPrefix: `llm-tier-router-${props.envName}`,
      });
    }
    this.task = new RoutingProxyTask(this, 'Task', {
      image: routingProxyImage(),
      runtimeConfig: props.runtimeConfig,
      apiKeys: this.apiKeys,
      size: p,
      logRetention: props.logRetention,
      stopTimeout: Duration.seconds(timings.stopTimeoutSeconds),
    });
    props.shadowPairs?.grantPut(this.task.taskDefinition.taskRole);
    this.service = new RoutingProxyService(this, 'Service', {
      vpc: props.vpc,
      taskDefinition: this.task.taskDefinition,
      listener: this.publicLoadBalancer.listener,
      upstream: props.upstream,
      scaling: p,
      deregistrationDelay: Duration.seconds(timings.deregistrationDelaySeconds),
    });

    new CfnOutput(this, 'EndpointUrl', {
      value: this.publicLoadBalancer.url,
      description: 'Base URL of the OpenAI-compatible endpoint (clients use <url>/v1)',
    }).overrideLogicalId(ROUTING_PROXY_OUTPUTS.endpointUrl);
    new CfnOutput(this, 'LoadBalancerDnsName', {
      value: this.publicLoadBalancer.loadBalancer.loadBalancerDnsName,
      description: 'DNS name of the public ALB: point proxy.domainName at it (alias or CNAME record)',
    }).overrideLogicalId(ROUTING_PROXY_OUTPUTS.loadBalancerDnsName);
    new CfnOutput(this, 'ApiKeysSecretName', {
      value: this.apiKeys.secretName,
      description: 'Secrets Manager secret holding the client API keys (JSON array or comma-separated list)',
    }).overrideLogicalId(ROUTING_PROXY_OUTPUTS.apiKeysSecretName);
    new CfnOutput(this, 'LogGroupName', {
      value: this.task.logGroup.logGroupName,
      description: 'CloudWatch log group of the routing proxy',
    }).overrideLogicalId(ROUTING_PROXY_OUTPUTS.logGroupName);
    new CfnOutput(this, 'ClusterName', {
      value: this.service.cluster.clusterName,
      description: 'ECS cluster of the routing proxy',
    }).overrideLogicalId(ROUTING_PROXY_OUTPUTS.clusterName);
    new CfnOutput(this, 'ServiceName', {
      value: this.service.service.serviceName,
      description: 'ECS service of the routing proxy: force a new deployment after changing the API keys',
    }).overrideLogicalId(ROUTING_PROXY_OUTPUTS.serviceName);
  }
}
