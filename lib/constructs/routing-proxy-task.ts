import { Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { effectiveNamespace } from '../../contracts/proxy-config';
import type { EnvConfig } from '../config/schema';
import { Ports } from '../../contracts/metrics';
import { PROXY_HEALTHCHECK_COMMAND } from '../proxy-config/container';
import type { ProxyConfigDocument } from '../proxy-config/render';
import { checkProxyConfig, PROXY_API_KEYS_ENV, PROXY_CONFIG_ENV } from '../proxy-config/validate';

/** Where the task reads the client API keys: a secret and a way to grant reading it. */
export interface ProxyApiKeysSource {
  /** The secret holding the keys. */
  readonly secret: secretsmanager.ISecret;
  /** Lets a principal read the keys. */
  grantRead(grantee: iam.IGrantable): void;
}

/** Props of {@link RoutingProxyTask}. */
export interface RoutingProxyTaskProps {
  /** The proxy image. */
  readonly image: ecs.ContainerImage;
  /** The rendered runtime config document; checked with the proxy's own loader here. */
  readonly runtimeConfig: ProxyConfigDocument;
  /** The client API keys, injected as the `LLM_ROUTER_API_KEYS` ECS secret. */
  readonly apiKeys: ProxyApiKeysSource;
  /** Task size. */
  readonly size: Pick<EnvConfig['proxy'], 'cpu' | 'memoryMiB'>;
  /** Retention of the container log group. */
  readonly logRetention: logs.RetentionDays;
  /** Time between SIGTERM and SIGKILL (Fargate allows at most 120 s). */
  readonly stopTimeout: Duration;
}

/** Name of the proxy container in the task definition. */
export const PROXY_CONTAINER_NAME = 'proxy';

/**
 * The routing proxy's Fargate task definition: the container with its rendered config, the API
 * keys from Secrets Manager, logs with retention, a task role that may only publish metrics to
 * the environment's namespace, and an execution role that may read the keys.
 */
export class RoutingProxyTask extends Construct {
  /** The task definition. */
  readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The proxy container. */
  readonly container: ecs.ContainerDefinition;
  /** Log group of the container. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RoutingProxyTaskProps) {
    super(scope, id);
    if (props.stopTimeout.toSeconds() > 120) {
      throw new Error(`RoutingProxyTask stopTimeout: got ${props.stopTimeout.toSeconds()} s, expected at most 120 s (Fargate limit)`);
    }
    const checked = checkProxyConfig(props.runtimeConfig);
    if (checked.port !== Ports.proxy) {
      throw new Error(`RoutingProxyTask runtimeConfig.port: got ${checked.port}, expected ${Ports.proxy} (the container and target group port)`);
    }
    const namespace = effectiveNamespace(checked);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.size.cpu,
      memoryLimitMiB: props.size.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: `${PROXY_CONFIG_ENV} carries the routing config rendered from the validated CDK config (endpoints, threshold, timeouts, prices) and holds no secret; the API keys arrive as the ECS secret ${PROXY_API_KEYS_ENV}.`,
    });

    this.taskDefinition.addToTaskRolePolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': namespace } },
    }));
    Validations.of(this.taskDefinition.taskRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `cloudwatch:PutMetricData has no resource-level permissions; the statement is limited to the namespace ${namespace} by the cloudwatch:namespace condition.`,
    });

    this.container = this.taskDefinition.addContainer('Proxy', {
      containerName: PROXY_CONTAINER_NAME,
      image: props.image,
      essential: true,
      portMappings: [{ containerPort: Ports.proxy, name: 'http' }],
      environment: {
        [PROXY_CONFIG_ENV]: Stack.of(this).toJsonString(props.runtimeConfig),
      },
      secrets: {
        [PROXY_API_KEYS_ENV]: ecs.Secret.fromSecretsManager(props.apiKeys.secret),
      },
      logging: ecs.LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: PROXY_CONTAINER_NAME,
        // Logging must never stall a streamed answer.
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
      readonlyRootFilesystem: true,
      stopTimeout: props.stopTimeout,
      healthCheck: {
        command: [...PROXY_HEALTHCHECK_COMMAND],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
    });

    const executionRole = this.taskDefinition.obtainExecutionRole();
    props.apiKeys.grantRead(executionRole);
    Validations.of(executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken, which pulls the proxy image, supports no resource-level permissions.',
    });
  }
}
