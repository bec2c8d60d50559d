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
import { ShadowDropReason } from '../../contracts/metrics';
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
    // The large-tier share reads what was routed, and the dashboard has no shadow widget.
    const [alarm] = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: 'prod-large-tier-share-above-limit' } })) as Array<Record<string, any>>;
    expect(JSON.stringify(alarm.Properties.Metrics)).toContain('"RoutedRequests"');
    expect(JSON.stringify(alarm.Properties.Metrics)).not.toContain('ShadowDecisions');
    expect(JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'))).not.toContain('Shadow comparisons');
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

    test('the large-tier share alarm reads the router\'s recorded decisions, not the fixed serve tier', () => {
      const [alarm] = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: 'prod-large-tier-share-above-limit' } })) as Array<Record<string, any>>;
      const names = (alarm.Properties.Metrics as Array<Record<string, any>>).filter((m) => m.MetricStat).map((m) => `${m.MetricStat.Metric.MetricName}:${m.MetricStat.Metric.Dimensions[0].Value}`);
      expect(names.sort()).toEqual(['ShadowDecisions:large', 'ShadowDecisions:large', 'ShadowDecisions:small']);
      expect(alarm.Properties.AlarmDescription).toMatch(/of the router's decisions \(shadow mode\) chose the large tier/);
    });

    test('the dashboard shows shadow comparisons started, stored and dropped per reason', () => {
      const [dash] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Array<Record<string, any>>;
      const body = dash.Properties.DashboardBody;
      const text = typeof body === 'string' ? body : (body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
      const widget = (JSON.parse(text).widgets as Array<{ properties: Record<string, any> }>).find((w) => w.properties.title === 'Shadow comparisons: started, stored, dropped');
      expect(widget).toBeDefined();
      const rows = JSON.stringify(widget!.properties.metrics);
      for (const name of ['ShadowSamples', 'ShadowPairsStored', 'ShadowStoreErrors', 'ShadowDropped']) expect(rows).toContain(`"${name}"`);
      for (const reason of Object.values(ShadowDropReason)) expect(rows).toContain(`"${reason}"`);
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
