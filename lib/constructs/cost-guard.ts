import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as ce from 'aws-cdk-lib/aws-ce';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { EnvConfig } from '../config/schema';

/** A cost-allocation tag (activated in the Billing console) that marks every resource of one environment. */
export interface CostAllocationTag {
  readonly key: string;
  readonly value: string;
}

/** Props of {@link CostGuard}. */
export interface CostGuardProps {
  /** Environment name, in the monitor, subscription and budget names. */
  readonly envName: string;
  /** The tag that scopes both the anomaly monitor and the budget to this environment. */
  readonly costAllocationTag: CostAllocationTag;
  /** Budget amount and anomaly impact threshold (`alarms` in config). */
  readonly thresholds: Pick<EnvConfig['alarms'], 'monthlyBudgetUsd' | 'anomalyThresholdUsd'>;
  /** Topic in the same region and account that Cost Anomaly Detection and Budgets publish to. */
  readonly topic: sns.ITopic;
}

/** Budget notifications: [type, percent of the monthly amount]. */
export const BUDGET_NOTIFICATIONS: ReadonlyArray<readonly ['ACTUAL' | 'FORECASTED', number]> = [
  ['ACTUAL', 80],
  ['ACTUAL', 100],
  ['FORECASTED', 100],
];

/**
 * Cost Anomaly Detection and an AWS Budget for one environment, both scoped by its cost-allocation
 * tag. Cost Explorer resources exist only in us-east-1, so this lives in the cost stack there.
 */
export class CostGuard extends Construct {
  public readonly monitor: ce.CfnAnomalyMonitor;
  public readonly subscription: ce.CfnAnomalySubscription;
  public readonly budget: budgets.CfnBudget;

  constructor(scope: Construct, id: string, props: CostGuardProps) {
    super(scope, id);
    const { envName, costAllocationTag: tag, thresholds, topic } = props;

    // A CUSTOM monitor on one tag value: an account may hold only one DIMENSIONAL SERVICE monitor,
    // and many already do. Format from the CreateAnomalyMonitor API examples (tag key, values).
    this.monitor = new ce.CfnAnomalyMonitor(this, 'Monitor', {
      monitorName: `${envName}-llm-tier-router`,
      monitorType: 'CUSTOM',
      monitorSpecification: JSON.stringify({ Tags: { Key: tag.key, Values: [tag.value] } }),
    });

    // IMMEDIATE is the only frequency that delivers to SNS (DAILY and WEEKLY send email digests).
    this.subscription = new ce.CfnAnomalySubscription(this, 'Subscription', {
      subscriptionName: `${envName}-llm-tier-router-anomalies`,
      frequency: 'IMMEDIATE',
      monitorArnList: [this.monitor.attrMonitorArn],
      subscribers: [{ type: 'SNS', address: topic.topicArn }],
      thresholdExpression: JSON.stringify({
        Dimensions: {
          Key: 'ANOMALY_TOTAL_IMPACT_ABSOLUTE',
          MatchOptions: ['GREATER_THAN_OR_EQUAL'],
          Values: [String(thresholds.anomalyThresholdUsd)],
        },
      }),
    });

    this.budget = new budgets.CfnBudget(this, 'Budget', {
      budget: {
        budgetName: `${envName}-llm-tier-router-monthly`,
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: thresholds.monthlyBudgetUsd, unit: 'USD' },
        // Budgets names user tags `user:<key>$<value>` in cost filters.
        costFilters: { TagKeyValue: [`user:${tag.key}$${tag.value}`] },
      },
      notificationsWithSubscribers: BUDGET_NOTIFICATIONS.map(([notificationType, threshold]) => ({
        notification: { notificationType, comparisonOperator: 'GREATER_THAN', threshold, thresholdType: 'PERCENTAGE' },
        subscribers: [{ subscriptionType: 'SNS', address: topic.topicArn }],
      })),
    });
  }
}
