import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Duration, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { EnvConfig } from '../config/schema';
import type { FleetSpec } from '../config/fleets';
import { internalListenerPort } from '../../contracts/metrics';
import { firstTokenSeconds } from '../proxy-config/timings';
import { InternalLoadBalancer, pascal } from './internal-lb';
import { ModelFleet } from './model-fleet';

/** Props of {@link ModelFleets}. */
export interface ModelFleetsProps {
  /** The VPC; fleets and the internal ALB go in its private subnets. */
  readonly vpc: ec2.IVpc;
  /** Every fleet, router first then tiers cheapest first (`fleetSpecs(config)`). */
  readonly fleets: readonly FleetSpec[];
  /** Environment name. */
  readonly envName: string;
  /** Image tag and Hugging Face token secret. */
  readonly vllm: EnvConfig['vllm'];
  /** Scaling thresholds. */
  readonly scaling: EnvConfig['scaling'];
  /** Business hours, when fleets keep their business-hours minimum. */
  readonly businessHours: EnvConfig['businessHours'];
  /** Longest non-streamed generation: idle timeout and deregistration delay. */
  readonly longestGenerationSeconds: number;
  /** Retention of the fleets' log groups and the access logs, in days. */
  readonly logRetentionDays: number;
  /**
   * Topic for the groups' launch, terminate and failure notifications. When its key is a
   * `kms.Key` of this app, the Auto Scaling service-linked role is granted its use.
   * @default - a topic encrypted with its own KMS key
   */
  readonly notificationTopic?: sns.ITopic;
}

/**
 * Every GPU fleet of the environment, built in one loop from the fleet list, behind one internal
 * ALB with a listener per served endpoint.
 */
export class ModelFleets extends Construct {
  /** The fleets, router first. */
  readonly fleets: ModelFleet[];
  /** The internal ALB in front of them. */
  readonly internalLoadBalancer: InternalLoadBalancer;
  /** The topic receiving every group's scaling notifications. */
  readonly scalingNotifications: sns.ITopic;

  constructor(scope: Construct, id: string, props: ModelFleetsProps) {
    super(scope, id);
    this.scalingNotifications = props.notificationTopic ?? this.createTopic(props.envName);
    this.scalingNotifications.masterKey?.addToResourcePolicy(autoScalingKeyStatement(Stack.of(this)));

    this.internalLoadBalancer = new InternalLoadBalancer(this, 'InternalLoadBalancer', {
      vpc: props.vpc,
      longestGenerationSeconds: props.longestGenerationSeconds,
      // The proxy's first-token deadline, from the same inputs it is rendered from.
      firstTokenTimeoutSeconds: firstTokenSeconds({ tiers: props.fleets.filter((f) => f.kind === 'tier'), scaling: props.scaling }),
      accessLogRetentionDays: props.logRetentionDays,
    });

    let tierIndex = 0;
    this.fleets = props.fleets.map((spec) => {
      const fleet = new ModelFleet(this, pascal(spec.name), {
        vpc: props.vpc,
        spec,
        envName: props.envName,
        vllm: props.vllm,
        scaling: props.scaling,
        businessHours: props.businessHours,
        longestGenerationSeconds: props.longestGenerationSeconds,
        loadBalancerIdleTimeout: this.internalLoadBalancer.idleTimeout,
        logRetention: props.logRetentionDays as logs.RetentionDays,
        notificationTopic: this.scalingNotifications,
      });
      const index = spec.kind === 'tier' ? tierIndex++ : 0;
      spec.servers.forEach((server, i) => {
        this.internalLoadBalancer.addEndpoint({
          fleet: spec.name,
          role: server.role,
          servedModelName: server.servedModelName,
          port: internalListenerPort(server.role, index),
          targetGroup: fleet.targetGroups[i].targetGroup,
        });
      });
      return fleet;
    });
  }

  /** The fleet named `name`; throws with the known names when there is none. */
  fleet(name: string): ModelFleet {
    const found = this.fleets.find((f) => f.name === name);
    if (!found) throw new Error(`ModelFleets: got fleet "${name}", expected one of ${this.fleets.map((f) => f.name).join(', ')}`);
    return found;
  }

  private createTopic(envName: string): sns.Topic {
    const key = new kms.Key(this, 'NotificationKey', {
      description: `${envName}: encrypts the GPU fleets' scaling notifications`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(7),
    });
    return new sns.Topic(this, 'ScalingNotifications', {
      displayName: `LLM tier router ${envName} GPU fleet scaling`,
      masterKey: key,
      enforceSSL: true,
    });
  }
}

/**
 * Lets the Auto Scaling service-linked role encrypt notifications with a topic's key. Named by a
 * condition rather than as principal, because KMS rejects a policy naming a role that does not exist
 * yet, and the service-linked role appears only when the account's first group is created.
 */
export function autoScalingKeyStatement(stack: Stack): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'AllowAutoScalingNotifications',
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
    resources: ['*'],
    conditions: {
      StringEquals: {
        'kms:CallerAccount': stack.account,
        'kms:ViaService': `sns.${stack.region}.amazonaws.com`,
      },
      ArnEquals: {
        'aws:PrincipalArn': `arn:${stack.partition}:iam::${stack.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
      },
    },
  });
}
