import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULT_SHADOW_PREFIX } from '../../contracts/proxy-config';

/** Props of {@link ShadowPairsBucket}. */
export interface ShadowPairsBucketProps {
  /** Environment name, in the key's description. */
  readonly envName: string;
  /** How long a stored pair is kept before S3 deletes it. */
  readonly retention: Duration;
  /**
   * Key prefix the proxy writes under (and the only one it may write).
   * @default "shadow-pairs/"
   */
  readonly prefix?: string;
}

/**
 * Where the routing proxy stores shadow comparison pairs: prompts and answers of sampled user
 * requests. Encrypted with a customer-managed KMS key (rotated yearly) rather than S3-managed keys,
 * so that reading the pairs needs `kms:Decrypt` on this key as well as `s3:GetObject`: the key
 * policy is a second, auditable gate on user data, and with the S3 Bucket Key off every read is a
 * `Decrypt` call that CloudTrail records. Private (all public access blocked, bucket-owner
 * ownership), TLS only, unversioned (a pair is written once under a unique key, and versioning
 * would keep expired prompts as noncurrent versions), and expired after the retention period;
 * incomplete multipart uploads are aborted after a day. Bucket and key are retained when the stack
 * or the sampling goes away, and the lifecycle rule keeps expiring what is left.
 */
export class ShadowPairsBucket extends Construct {
  /** The bucket. */
  readonly bucket: s3.Bucket;
  /** The key encrypting every object. */
  readonly key: kms.Key;
  /** Key prefix the proxy writes under. */
  readonly prefix: string;

  constructor(scope: Construct, id: string, props: ShadowPairsBucketProps) {
    super(scope, id);
    this.prefix = props.prefix ?? DEFAULT_SHADOW_PREFIX;
    this.key = new kms.Key(this, 'Key', {
      description: `Encrypts the shadow comparison pairs (sampled prompts and answers) of the ${props.envName} LLM endpoint`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      // Off: each read then decrypts through the key, so CloudTrail shows who read which pairs.
      bucketKeyEnabled: false,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'ExpireShadowPairs', expiration: props.retention, abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Every object is encrypted with this environment\'s customer-managed KMS key with the S3 Bucket Key off, so each read of a pair is a kms:Decrypt call recorded by CloudTrail; server access logs would add a second log bucket holding object keys without adding who-read-what.',
    });
  }

  /** Lets `role` write pairs under {@link prefix} and nothing else: PutObject on the prefix, GenerateDataKey on the key. */
  grantPut(role: iam.IRole): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:PutObject'],
      resources: [this.bucket.arnForObjects(`${this.prefix}*`)],
    }));
    this.key.grant(role, 'kms:GenerateDataKey');
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdRef(this.bucket)}.Arn>/${this.prefix}*]`,
      reason: `The proxy writes each batch of comparison pairs under a new key (a date folder and a unique name) below ${this.prefix}: PutObject on that prefix is the narrowest grant that allows it, with no read, list or delete.`,
    });
  }
}

/** The logical id cdk-nag shows for a resource in a finding (`<Id.Arn>`). */
function logicalIdRef(bucket: s3.Bucket): string {
  const cfn = bucket.node.defaultChild as s3.CfnBucket;
  return bucket.stack.getLogicalId(cfn);
}
