import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Stack, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Props of {@link FleetInstanceRole}. */
export interface FleetInstanceRoleProps {
  /** Fleet name, for descriptions. */
  readonly fleetName: string;
  /** Secrets Manager secret (by name) holding the Hugging Face token. */
  readonly huggingFaceTokenSecretName: string;
  /** The environment's CloudWatch namespace: the only one the instances may put metrics in. */
  readonly metricsNamespace: string;
  /** The fleet's log group: the only one the instances may write to. */
  readonly logGroup: logs.ILogGroup;
}

/**
 * The least-privilege role of a fleet's GPU instances: read the Hugging Face token by name, put
 * metrics in the environment's namespace only, write the fleet's own log group, signal its boot
 * result to this stack only, and SSM Session Manager (no SSH key, no open port).
 */
export class FleetInstanceRole extends Construct {
  /** The role the fleet's instance profile carries. */
  readonly role: iam.Role;
  /** ARN pattern of the Hugging Face token secret (name plus the random six-character suffix). */
  readonly huggingFaceTokenSecretArn: string;

  constructor(scope: Construct, id: string, props: FleetInstanceRoleProps) {
    super(scope, id);
    const ssmCore = iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore');
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `GPU instances of the ${props.fleetName} fleet: HF token, own metrics and logs, SSM`,
      managedPolicies: [ssmCore],
    });

    const secret = secretsmanager.Secret.fromSecretNameV2(this, 'HuggingFaceToken', props.huggingFaceTokenSecretName);
    this.huggingFaceTokenSecretArn = `${secret.secretArn}-??????`;
    this.role.addToPolicy(new iam.PolicyStatement({
      sid: 'ReadHuggingFaceToken',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [this.huggingFaceTokenSecretArn],
    }));
    this.role.addToPolicy(new iam.PolicyStatement({
      sid: 'PutFleetMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': props.metricsNamespace } },
    }));
    this.role.addToPolicy(new iam.PolicyStatement({
      sid: 'SignalBootResult',
      actions: ['cloudformation:SignalResource'],
      // The stack's own id (its ARN with the unique suffix): no other stack, not even a later one of
      // the same name.
      resources: [Stack.of(this).stackId],
    }));
    this.role.addToPolicy(new iam.PolicyStatement({
      sid: 'WriteFleetLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [props.logGroup.logGroupArn],
    }));

    const validations = Validations.of(this.role);
    validations.acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'SSM Session Manager is the only way into the GPU instances (no SSH key, no inbound port); this AWS policy is the documented minimum for the SSM agent.',
    });
    validations.acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'cloudwatch:PutMetricData supports no resource ARN; the statement is limited by a cloudwatch:namespace condition to the environment\'s namespace.',
    });
  }
}
