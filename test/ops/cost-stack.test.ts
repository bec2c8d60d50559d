import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AlarmTopic } from '../../lib/constructs/alarm-topic';
import { addCostStack, CostStack, costScopeTag } from '../../lib/cost-stack';
import { nagFindings, testApp, THRESHOLDS } from './fixture';

const props = {
  envName: 'prod',
  account: '111122223333',
  costAllocationTag: { key: 'Project', value: 'llm-tier-router-prod' },
  alarms: { emails: ['ops@example.com', 'finance@example.com'], monthlyBudgetUsd: 5000, anomalyThresholdUsd: 75 },
};
const app = testApp();
const stack = new CostStack(app, 'ProdCost', props);
const template = Template.fromStack(stack);
const topicRef = { Ref: stack.getLogicalId(stack.alarmTopic.topic.node.defaultChild as never) };

describe('CostStack', () => {
  it('is pinned to us-east-1, where Cost Explorer anomaly resources exist', () => {
    expect(stack.region).toBe('us-east-1');
    expect(stack.account).toBe('111122223333');
  });

  it('owns an encrypted us-east-1 topic with the same email subscriptions', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'prod-cost-llm-tier-router-alarms',
      KmsMasterKeyId: Match.anyValue(),
    });
    for (const email of props.alarms.emails) {
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: email, TopicArn: topicRef });
    }
  });

  it('lets only Budgets and Cost Anomaly Detection publish to it', () => {
    const [policy] = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    const services = policy.Properties.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Allow').map((s: any) => s.Principal.Service);
    expect(services.sort()).toEqual(['budgets.amazonaws.com', 'costalerts.amazonaws.com']);
  });

  it('wires the subscription and the budget to its own topic, with no reference to another region', () => {
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toContain('Fn::ImportValue');
    expect(json).not.toMatch(/CrossRegion|ExportsReader|ExportsWriter/);
    template.hasResourceProperties('AWS::CE::AnomalySubscription', { Subscribers: [{ Type: 'SNS', Address: topicRef }] });
    const [budget] = Object.values(template.findResources('AWS::Budgets::Budget'));
    for (const n of budget.Properties.NotificationsWithSubscribers) {
      expect(n.Subscribers).toEqual([{ SubscriptionType: 'SNS', Address: topicRef }]);
    }
  });

  it('creates the monitor, subscription and budget only after the topic may be published to', () => {
    const policyId = Object.keys(template.findResources('AWS::SNS::TopicPolicy'))[0];
    for (const type of ['AWS::CE::AnomalySubscription', 'AWS::Budgets::Budget']) {
      const [resource] = Object.values(template.findResources(type));
      expect(resource.DependsOn).toEqual(expect.arrayContaining([policyId]));
    }
  });

  it('monitors anomalies of the environment tag with a CUSTOM monitor', () => {
    template.hasResourceProperties('AWS::CE::AnomalyMonitor', {
      MonitorName: 'prod-llm-tier-router',
      MonitorType: 'CUSTOM',
      MonitorDimension: Match.absent(),
      MonitorSpecification: JSON.stringify({ Tags: { Key: 'Project', Values: ['llm-tier-router-prod'] } }),
    });
  });

  it('alerts immediately on anomalies whose impact reaches the configured amount', () => {
    template.hasResourceProperties('AWS::CE::AnomalySubscription', {
      Frequency: 'IMMEDIATE',
      Threshold: Match.absent(),
      ThresholdExpression: JSON.stringify({
        Dimensions: { Key: 'ANOMALY_TOTAL_IMPACT_ABSOLUTE', MatchOptions: ['GREATER_THAN_OR_EQUAL'], Values: ['75'] },
      }),
    });
  });

  it('budgets the monthly amount for the tagged resources, with 80% and 100% actual and 100% forecast', () => {
    template.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: {
        BudgetName: 'prod-llm-tier-router-monthly',
        BudgetType: 'COST',
        TimeUnit: 'MONTHLY',
        BudgetLimit: { Amount: 5000, Unit: 'USD' },
        CostFilters: { TagKeyValue: ['user:Project$llm-tier-router-prod'] },
      },
    });
    const [budget] = Object.values(template.findResources('AWS::Budgets::Budget'));
    const notifications = budget.Properties.NotificationsWithSubscribers.map((n: any) => n.Notification);
    expect(notifications).toEqual([
      { NotificationType: 'ACTUAL', ComparisonOperator: 'GREATER_THAN', Threshold: 80, ThresholdType: 'PERCENTAGE' },
      { NotificationType: 'ACTUAL', ComparisonOperator: 'GREATER_THAN', Threshold: 100, ThresholdType: 'PERCENTAGE' },
      { NotificationType: 'FORECASTED', ComparisonOperator: 'GREATER_THAN', Threshold: 100, ThresholdType: 'PERCENTAGE' },
    ]);
  });

  it('passes the AWS Solutions checks', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('addCostStack', () => {
  it('adds the stack when the environment keeps cost guarding on', () => {
    const a = testApp();
    expect(addCostStack(a, 'Cost', { ...props, enabled: THRESHOLDS.costGuardEnabled })).toBeInstanceOf(CostStack);
    expect(a.node.tryFindChild('Cost')).toBeDefined();
  });

  it('adds nothing for accounts that manage anomaly monitors and budgets centrally', () => {
    const a = testApp();
    expect(addCostStack(a, 'Cost', { ...props, enabled: false })).toBeUndefined();
    expect(a.node.tryFindChild('Cost')).toBeUndefined();
  });
});

describe('environment stack in another region beside the cost stack', () => {
  const a = testApp();
  const envStack = new Stack(a, 'ProdEnv', { env: { account: '111122223333', region: 'eu-central-1' } });
  new AlarmTopic(envStack, 'AlarmTopic', { envName: 'prod', emails: props.alarms.emails });
  const costStack = addCostStack(a, 'ProdCost', { ...props, enabled: true })!;

  it('synthesizes without cross-region references (each stack notifies its own topic)', () => {
    const assembly = a.synth();
    expect(assembly.getStackByName(envStack.stackName).environment.region).toBe('eu-central-1');
    expect(assembly.getStackByName(costStack.stackName).environment.region).toBe('us-east-1');
    expect(costStack.dependencies).toEqual([]);
  });

  it('both topics reach the same people', () => {
    const endpoints = (stack: Stack) =>
      Object.values(Template.fromStack(stack).findResources('AWS::SNS::Subscription')).map((r) => r.Properties.Endpoint).sort();
    expect(endpoints(costStack)).toEqual(endpoints(envStack));
  });
});

describe('costScopeTag', () => {
  it('names the project and the environment in one tag value', () => {
    expect(costScopeTag('staging')).toEqual({ key: 'CostScope', value: 'llm-tier-router-staging' });
  });
});
