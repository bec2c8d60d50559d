import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** AWS services that publish notifications to an alarm topic. */
export type AlarmPublisher = 'cloudwatch' | 'budgets' | 'costalerts';

/** Props of {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /** Environment name, prefixed to the topic name. */
  readonly envName: string;
  /** Addresses to subscribe by email (each confirms once from the AWS message). */
  readonly emails: readonly string[];
  /**
   * Services allowed to publish.
   * @default - CloudWatch alarms, AWS Budgets and Cost Anomaly Detection
   */
  readonly publishers?: readonly AlarmPublisher[];
}

const ALL_PUBLISHERS: readonly AlarmPublisher[] = ['cloudwatch', 'budgets', 'costalerts'];

/**
 * One SNS topic per environment that every alarm, budget and anomaly alert notifies. Encrypted with
 * its own customer-managed KMS key: the AWS-managed SNS key cannot grant AWS services the right to
 * encrypt messages, so CloudWatch, Budgets and Cost Anomaly Detection could not publish to it.
 */
export class AlarmTopic extends Construct {
  /** The topic to send alarm and OK notifications to. */
  public readonly topic: sns.Topic;
  /** The key encrypting the topic. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const bad = props.emails.filter((e) => !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e));
    if (bad.length > 0) {
      throw new Error(`AlarmTopic emails: got ${JSON.stringify(bad)}, expected email addresses`);
    }
    const stack = Stack.of(this);
    const publishers = props.publishers ?? ALL_PUBLISHERS;

    this.key = new kms.Key(this, 'Key', {
      description: `${props.envName}: encrypts the alarm topic`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(7),
    });
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: `${props.envName}-llm-tier-router-alarms`,
      displayName: `LLM tier router ${props.envName} alarms`,
      masterKey: this.key,
      enforceSSL: true,
    });

    for (const publisher of publishers) {
      const principal = new iam.ServicePrincipal(`${publisher}.amazonaws.com`);
      const conditions = this.publishConditions(publisher, stack);
      this.topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Allow${publisher}Publish`,
          principals: [principal],
          actions: ['sns:Publish'],
          resources: [this.topic.topicArn],
          conditions,
        }),
      );
      // Publishing to an encrypted topic encrypts the message with a data key from this key. No
      // source condition here: SNS calls KMS on the service's behalf, so the topic policy above is the
      // gate that limits publishers to this account.
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Allow${publisher}UseOfTheKey`,
          principals: [principal],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
      );
    }

    for (const email of props.emails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
  }

  /** Confused-deputy guard: only this account's alarms, budgets and monitors may publish. */
  private publishConditions(publisher: AlarmPublisher, stack: Stack): Record<string, unknown> {
    const sourceAccount = { 'aws:SourceAccount': stack.account };
    switch (publisher) {
      case 'cloudwatch':
        return {
          StringEquals: sourceAccount,
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
        };
      case 'budgets':
        return {
          StringEquals: sourceAccount,
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:budgets::${stack.account}:*` },
        };
      case 'costalerts':
        return { StringEquals: sourceAccount };
    }
  }
}
