import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AlarmTopic } from '../../lib/constructs/alarm-topic';
import { nagFindings, testApp } from './fixture';

describe('AlarmTopic', () => {
  const app = testApp();
  const stack = new Stack(app, 'Topic', { env: { account: '111122223333', region: 'eu-west-1' } });
  const topic = new AlarmTopic(stack, 'Alarms', { envName: 'prod', emails: ['a@example.com', 'b@example.com'] });
  const template = Template.fromStack(stack);

  it('is encrypted with its own rotating key and named after the environment', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'prod-llm-tier-router-alarms',
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('AlarmsKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('subscribes every configured address by email', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'b@example.com' });
  });

  it.each([
    ['cloudwatch.amazonaws.com', { 'aws:SourceArn': 'arn:aws:cloudwatch:eu-west-1:111122223333:alarm:*' }],
    ['budgets.amazonaws.com', { 'aws:SourceArn': 'arn:aws:budgets::111122223333:*' }],
    ['costalerts.amazonaws.com', undefined],
  ])('lets %s publish, for this account only', (service, arnLike) => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: service },
            Action: 'sns:Publish',
            Condition: Match.objectLike({
              StringEquals: { 'aws:SourceAccount': '111122223333' },
              ...(arnLike ? { ArnLike: arnLike } : {}),
            }),
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: service }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      },
    });
  });

  it('refuses publishing over plain HTTP', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('rejects an address that is not an email', () => {
    expect(() => new AlarmTopic(new Stack(testApp(), 'Bad'), 'T', { envName: 'dev', emails: ['ops'] })).toThrow(
      /AlarmTopic emails: got \["ops"\], expected email addresses/,
    );
  });

  it('passes the AWS Solutions checks', () => {
    expect(nagFindings(topic)).toEqual([]);
  });
});
