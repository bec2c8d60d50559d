import { Duration, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Props of {@link PublicAccessLogBucket}. */
export interface PublicAccessLogBucketProps {
  /** How long access log objects are kept. */
  readonly expiration: Duration;
}

/**
 * The bucket receiving the public load balancer's access logs: encrypted with S3-managed keys
 * (ALB log delivery does not support KMS keys), TLS-only, private, and expiring old logs.
 */
export class PublicAccessLogBucket extends Construct {
  /** The bucket. */
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: PublicAccessLogBucketProps) {
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
      reason: 'This bucket only receives the public ALB access logs; logging reads of it to another bucket would add a log chain without a consumer.',
    });
  }
}
