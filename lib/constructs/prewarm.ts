import * as path from 'node:path';
import { CfnElement, Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FleetSpec } from '../config/fleets';
import type { EnvConfig } from '../config/schema';
import type { ServerTarget } from '../../contracts/prewarm';
import type { PrewarmWindow } from '../config/business-hours';

/** One fleet to warm: its Auto Scaling group and the vLLM servers each instance runs. */
export interface PrewarmFleet {
  /** `router` or a tier name: the `Fleet` metric dimension. */
  readonly name: string;
  readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
  /** Servers on every instance: port, API kind and served model name. */
  readonly servers: readonly ServerTarget[];
  /** The fleet's instances: the function opens each server port to them (its egress, their ingress). */
  readonly connections: ec2.IConnectable;
}

/** Props of {@link Prewarm}. */
export interface PrewarmProps {
  readonly vpc: ec2.IVpc;
  /**
   * Where the function's network interfaces go.
   * @default - the VPC's private subnets with egress (the AWS APIs are reached through NAT)
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly fleets: readonly PrewarmFleet[];
  /** CloudWatch namespace of the environment (`metricsNamespace(envName)`). */
  readonly metricsNamespace: string;
  /** Per-request timeout (`prewarm` in config). */
  readonly settings: Pick<EnvConfig['prewarm'], 'timeoutMs'>;
  /** When to run: the windows outside business hours (`prewarmWindows`), in the schedule's IANA time zone. */
  readonly schedule: {
    readonly timeZone: string;
    readonly windows: readonly PrewarmWindow[];
  };
  /** Log retention of the function's log group. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * The warm-up targets of a fleet's servers: generative servers (tier models and the router's scorer)
 * get a one-token chat completion, the embedding server a one-word embedding, each under its served
 * model name.
 */
export function prewarmServers(spec: FleetSpec): ServerTarget[] {
  return spec.servers.map((s) => ({
    port: s.port,
    kind: s.role === 'embedding' ? 'embedding' : 'chat',
    model: s.servedModelName,
  }));
}

/** Parallel warm-up requests per run: a handful of fleets, each a few instances, done in one wave. */
const CONCURRENCY = 16;

/**
 * The scheduled pre-warm function: EventBridge Scheduler invokes it (cron and IANA time zone from
 * config) and it sends each in-service instance's vLLM servers one minimal request, so the first
 * real request after a quiet period does not pay for cold caches. Runs in the private subnets; its
 * own security group is what the fleets admit.
 */
export class Prewarm extends Construct {
  public readonly function: nodejs.NodejsFunction;
  /** Security group of the function; fleets admit it on their vLLM ports. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** Receives invocations that failed twice or could not be delivered. */
  public readonly deadLetterQueue: sqs.Queue;
  /** One schedule per window, keyed by window name. */
  public readonly schedules: Readonly<Record<string, scheduler.Schedule>>;
  /** Fleet names, for the failure alarms and the dashboard. */
  public readonly fleetNames: readonly string[];

  constructor(scope: Construct, id: string, props: PrewarmProps) {
    super(scope, id);
    if (props.fleets.length === 0) {
      throw new Error('Prewarm fleets: got none, expected at least one fleet to warm');
    }
    if (props.schedule.windows.length === 0) {
      throw new Error('Prewarm schedule.windows: got none, expected at least one window outside business hours');
    }
    const timeoutMs = props.settings.timeoutMs;
    this.fleetNames = props.fleets.map((f) => f.name);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Pre-warm function: HTTPS to AWS APIs, vLLM ports of the GPU fleets',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs (Auto Scaling, EC2, CloudWatch) via NAT');
    // Both sides: the fleet's group admits the function and the function's group (no default
    // egress) lets the request out. An ingress rule alone leaves every warm-up to time out.
    for (const fleet of props.fleets) {
      for (const port of new Set(fleet.servers.map((s) => s.port))) {
        this.securityGroup.connections.allowTo(fleet.connections, ec2.Port.tcp(port), `pre-warm requests to ${fleet.name} vLLM`);
      }
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the pre-warm function and its schedule; nothing redrives from it.',
    });

    const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Pre-warm function: list fleet instances, publish warm-up metrics',
    });
    logGroup.grantWrite(role);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListFleetInstances',
        actions: ['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeInstances'],
        resources: ['*'],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PublishWarmupMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': props.metricsNamespace } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'VpcNetworkInterfaces',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'autoscaling:DescribeAutoScalingGroups, ec2:DescribeInstances, ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets ' +
        'support no resource-level permissions; cloudwatch:PutMetricData has no resource ARN and is limited by the ' +
        'cloudwatch:namespace condition to this environment; the Lambda VPC interface actions act on interfaces Lambda ' +
        'creates at run time, whose ids are unknown at deploy time (the same statement as AWSLambdaVPCAccessExecutionRole).',
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(__dirname, '..', '..', 'lambda', 'prewarm', 'index.ts'),
      handler: 'handler',
      // The current Node.js runtime (cdk-nag AwsSolutions-L1); the handler is async, which Node 24 requires.
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // Every request has its own deadline and all run in one wave; the margin covers the two
      // Describe calls and the PutMetricData call.
      timeout: Duration.millis(timeoutMs + 30_000),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 1,
      maxEventAge: Duration.minutes(10),
      environment: {
        FLEETS: Stack.of(this).toJsonString(
          props.fleets.map((f) => ({ fleet: f.name, asgName: f.autoScalingGroup.autoScalingGroupName, servers: f.servers })),
        ),
        METRICS_NAMESPACE: props.metricsNamespace,
        TIMEOUT_MS: String(timeoutMs),
        CONCURRENCY: String(CONCURRENCY),
        // Stack traces point into the TypeScript sources through the bundled source map.
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: { forceDockerBundling: false, minify: true, sourceMap: true, target: 'node24', logLevel: nodejs.LogLevel.WARNING },
      description: 'Sends one minimal request to every in-service vLLM server so it stays warm',
    });

    // An explicit role keeps the scheduler's permissions next to this construct and limited to
    // schedules of this account.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'EventBridge Scheduler invoking the pre-warm function',
    });
    const functionLogicalId = Stack.of(this).getLogicalId(this.function.node.defaultChild as CfnElement);
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionLogicalId}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the pre-warm function and its versions (ARN:*) as the scheduler target grants it; ' +
        'no other function is reachable.',
    });

    const target = new targets.LambdaInvoke(this.function, {
      role: scheduleRole,
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 0,
      maxEventAge: Duration.minutes(5),
    });
    this.schedules = Object.fromEntries(props.schedule.windows.map((w) => [w.name, new scheduler.Schedule(this, `Schedule${w.name}`, {
      description: `Pre-warm the GPU fleets outside business hours (${w.name})`,
      schedule: scheduler.ScheduleExpression.expression(w.expression, TimeZone.of(props.schedule.timeZone)),
      target,
    })]));
  }
}
