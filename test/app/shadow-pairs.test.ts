/**
 * The shadow pairs bucket: only when sampling is on; KMS-encrypted, private, TLS only, expiring;
 * the proxy's task role may only put objects under its prefix; the proxy config names the bucket;
 * cdk-nag stays clean.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../lib/app';
import { PROXY_CONFIG_ENV } from '../../lib/proxy-config/validate';
import { cdkContext, load, problems } from '../config/helpers';

function build(overrides: Record<string, unknown> = {}) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-shadow-'));
  const app = new App({ outdir, context: { ...cdkContext(), '@aws-cdk/core:validateAgainstDefaultRules': false } });
  const built = buildApp(app, load({ env: 'prod', ...overrides }), { nag: false });
  return { app, template: Template.fromStack(built.environment) };
}

/** The proxy config document in the task definition, tokens shown as `<token>`. */
function proxyConfig(template: Template): Record<string, any> {
  const [task] = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as Array<Record<string, any>>;
  const value = (task.Properties.ContainerDefinitions[0].Environment as Array<{ Name: string; Value: any }>).find((e) => e.Name === PROXY_CONFIG_ENV)!.Value;
  const text = typeof value === 'string' ? value : (value['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : '<token>')).join('');
  return JSON.parse(text);
}

describe('shadow comparison in the stack', () => {
  test('by default: no bucket, no key for it, no S3 grant, route mode, no shadow section', () => {
    const { template } = build();
    template.resourcePropertiesCountIs('AWS::KMS::Key', { Description: Match.stringLikeRegexp('shadow comparison pairs') }, 0);
    template.resourcePropertiesCountIs('AWS::S3::Bucket', { BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } })] } }, 0);
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).not.toContain('s3:PutObject');
    const doc = proxyConfig(template);
    expect(doc.router.mode).toBe('route');
    expect(doc.shadow).toBeUndefined();
  });

  describe('with routing.shadowSampleRate > 0', () => {
    const { app, template } = build({ 'routing.shadowSampleRate': '0.05', 'routing.shadowRetentionDays': '14', 'routing.mode': 'shadow', 'routing.shadowMaxConcurrent': '2' });
    const buckets = template.findResources('AWS::S3::Bucket', { Properties: { BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })] } } });
    const [bucketId] = Object.keys(buckets);
    const [keyId] = Object.keys(template.findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('shadow comparison pairs') } }));

    test('one KMS-encrypted bucket: private, owner-enforced, unversioned, retained', () => {
      expect(Object.keys(buckets)).toHaveLength(1);
      template.hasResource('AWS::S3::Bucket', {
        Properties: {
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: false, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } } }] },
          PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          VersioningConfiguration: Match.absent(),
        },
        DeletionPolicy: 'Retain',
      });
      template.hasResource('AWS::KMS::Key', { Properties: Match.objectLike({ Description: Match.stringLikeRegexp('shadow comparison pairs'), EnableKeyRotation: true }), DeletionPolicy: 'Retain' });
      expect(keyId).toMatch(/^ShadowPairsKey/);
    });

    test('objects expire after routing.shadowRetentionDays; incomplete uploads after a day', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: Match.anyValue(),
        LifecycleConfiguration: { Rules: [{ Id: 'ExpireShadowPairs', Status: 'Enabled', ExpirationInDays: 14, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }] },
      });
    });

    test('the bucket policy denies every request without TLS', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId },
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    });

    test('the proxy task role may put objects under the prefix and generate data keys, nothing more', () => {
      const put = Match.objectLike({ Effect: 'Allow', Action: 's3:PutObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/shadow-pairs/*']] } });
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [Match.objectLike({ Ref: Match.stringLikeRegexp('RoutingProxyTaskTaskDefinitionTaskRole') })],
        PolicyDocument: { Statement: Match.arrayWith([put, Match.objectLike({ Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } })]) },
      });
      const text = JSON.stringify(template.findResources('AWS::IAM::Policy'));
      for (const broad of ['s3:GetObject', 's3:ListBucket', 's3:DeleteObject', 's3:*"', 'kms:Decrypt']) expect(text).not.toContain(broad);
    });

    test('the proxy config names the bucket, its prefix and region, and the mode', () => {
      const doc = proxyConfig(template);
      expect(doc.router.mode).toBe('shadow');
      expect(doc.shadow).toMatchObject({ sampleRate: 0.05, maxConcurrent: 2, maxTokens: 1024, maxCaptureChars: 16000, store: { bucket: '<token>', prefix: 'shadow-pairs/', region: 'us-east-1' } });
    });

    test('cdk-nag AwsSolutions reports no unacknowledged finding', () => {
      const report = new AwsSolutionsChecks().validateScope(app);
      expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`)).toEqual([]);
    });
  });

  test('a bad value names the key', () => {
    expect(problems({ env: 'dev', 'routing.shadowSampleRate': '2' })).toEqual(['routing.shadowSampleRate: got 2, expected <= 1']);
    expect(problems({ env: 'dev', 'routing.mode': 'mirror' })).toEqual(['routing.mode: got "mirror", expected one of route, shadow']);
    expect(problems({ env: 'dev', 'routing.shadowServeTier': 'lage' })[0]).toMatch(/^routing\.shadowServeTier: got "lage", expected a tier name \(did you mean "large"\?\)/);
  });
});
