import { Duration, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Props of {@link AccessLogBucket}. */
export interface AccessLogBucketProps {
  /** How long access log objects are kept. */
  readonly expiration: Duration;
  /** The load balancer whose logs the bucket receives, as named in the cdk-nag reason (e.g. `public ALB`). */
  readonly loadBalancerName: string;
}

/**
 * An S3 bucket receiving one load balancer's access logs: encrypted with S3-managed keys (ALB log
 * delivery supports no KMS key), TLS only, private, expiring old logs.
 */
export class AccessLogBucket extends Construct {
  /** The bucket. */
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: AccessLogBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'ExpireAccessLogs', expiration: props.expiration, abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: `This bucket only receives the ${props.loadBalancerName} access logs; logging reads of it to another bucket would add a log chain without a consumer.`,
    });
  }
}
