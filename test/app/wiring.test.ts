import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp, costStackName } from '../../lib/app';
import { fleetAutoScalingGroupName } from '../../lib/constructs/model-fleet';
import { cdkContext, load } from '../config/helpers';

/** Builds an environment from cdk.json (without the slow CloudFormation schema pass). */
function build(envName: string, overrides: Record<string, unknown> = {}) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-wiring-'));
  const app = new App({ outdir, context: { ...cdkContext(), '@aws-cdk/core:validateAgainstDefaultRules': false } });
  const built = buildApp(app, load({ env: envName, ...overrides }), { nag: false });
  return { app, built, template: Template.fromStack(built.environment) };
}

describe('the environment stack wires every part', () => {
  const prod = build('prod');

  test('prod: one alarm topic, which every alarm and the fleets\' scaling notifications use', () => {
    const topics = prod.template.findResources('AWS::SNS::Topic');
    expect(Object.keys(topics)).toHaveLength(1);
    const [topicId] = Object.keys(topics);
    type Alarm = { Properties: { AlarmActions: unknown[]; OKActions?: unknown[]; AlarmName?: string } };
    const all = Object.values(prod.template.findResources('AWS::CloudWatch::Alarm')) as Alarm[];
    // Alarms without a name belong to step-scaling policies: they act on a scaling policy only.
    const scaling = all.filter((a) => a.Properties.AlarmName === undefined);
    const resources = prod.template.toJSON().Resources as Record<string, { Type: string }>;
    expect(scaling.length).toBeGreaterThan(0);
    for (const alarm of scaling) {
      expect(JSON.stringify(alarm.Properties.AlarmActions)).not.toContain(topicId);
      const targets = (alarm.Properties.AlarmActions as { Ref: string }[]).map((a) => resources[a.Ref]?.Type);
      expect(targets).toEqual(['AWS::AutoScaling::ScalingPolicy']);
    }
    const alarms = all.filter((a) => a.Properties.AlarmName !== undefined);
    expect(alarms.length).toBeGreaterThanOrEqual(15);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmName).toMatch(/^prod-/);
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
    for (const fleet of ['router', 'small', 'large']) {
      prod.template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        AutoScalingGroupName: fleetAutoScalingGroupName('prod', fleet),
        NotificationConfigurations: Match.arrayWith([Match.objectLike({ TopicARN: { Ref: topicId } })]),
      });
    }
  });

  test('prod: alarms exist for every fleet and tier the config lists', () => {
    const names = Object.values(prod.template.findResources('AWS::CloudWatch::Alarm')).map((a) => (a as { Properties: { AlarmName: string } }).Properties.AlarmName);
    for (const fleet of ['router', 'small', 'large']) {
      expect(names).toContain(`prod-${fleet}-queue-depth-high`);
      expect(names).toContain(`prod-${fleet}-prewarm-failures`);
    }
    for (const tier of ['small', 'large']) {
      expect(names).toContain(`prod-${tier}-p99-time-to-first-token-high`);
      expect(names).toContain(`prod-${tier}-p99-end-to-end-latency-high`);
    }
    expect(names).toEqual(expect.arrayContaining([
      'prod-spend-per-hour-above-budget', 'prod-spend-per-hour-anomaly', 'prod-large-tier-share-above-limit',
      'prod-scoring-fallback-rate-high', 'prod-proxy-5xx-rate-high', 'prod-router-scorer-unhealthy-targets',
      'prod-router-embedding-unhealthy-targets', 'prod-small-unhealthy-targets', 'prod-large-unhealthy-targets',
    ]));
  });

  test('prod: the pre-warm schedule runs in the configured time zone and the fleets admit the function', () => {
    const schedules = Object.values(prod.template.findResources('AWS::Scheduler::Schedule')).map((r) => r.Properties);
    expect(schedules.map((p) => [p.ScheduleExpression, p.ScheduleExpressionTimezone]).sort()).toEqual([
      ['cron(0/5 * ? * SUN,SAT *)', 'America/New_York'],
      ['cron(0/5 0-7,19-23 ? * MON-FRI *)', 'America/New_York'],
    ]);
    const fn = Object.entries(prod.template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('PrewarmFunction'));
    expect(fn).toBeDefined();
    const prewarmSg = Object.keys(prod.template.findResources('AWS::EC2::SecurityGroup')).find((id) => id.startsWith('PrewarmSecurityGroup'));
    const fromPrewarm = Object.values(prod.template.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter((r) => JSON.stringify((r as { Properties: { SourceSecurityGroupId?: unknown } }).Properties.SourceSecurityGroupId ?? '').includes(`"${prewarmSg}"`));
    // router: 8000 and 8001; each tier: 8000
    expect(fromPrewarm).toHaveLength(4);
  });

  test('prod: the dashboard is named after the environment', () => {
    prod.template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'LlmTierRouter-prod' });
  });

  test('prod: the us-east-1 cost stack is built, with the budget from config', () => {
    expect(prod.built.cost?.stackName).toBe(costStackName('prod'));
    expect(prod.built.cost?.region).toBe('us-east-1');
    const cost = Template.fromStack(prod.built.cost!);
    cost.hasResourceProperties('AWS::Budgets::Budget', { Budget: Match.objectLike({ BudgetLimit: { Amount: 25000, Unit: 'USD' } }) });
    cost.resourceCountIs('AWS::CE::AnomalyMonitor', 1);
  });

  test('dev: no pre-warm, no cost stack (opted out in cdk.json)', () => {
    const dev = build('dev');
    dev.template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    expect(dev.built.cost).toBeUndefined();
    expect(dev.app.node.tryFindChild(costStackName('dev'))).toBeUndefined();
  });

  test('a config change reaches the alarms: -c alarms.queueDepthWaiting=30', () => {
    const { template } = build('staging', { 'alarms.queueDepthWaiting': '30' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'staging-small-queue-depth-high', Threshold: 30 });
  });
});
