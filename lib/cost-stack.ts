import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { EnvConfig } from './config/schema';
import { AlarmTopic } from './constructs/alarm-topic';
import { CostAllocationTag, CostGuard } from './constructs/cost-guard';

/** The only region where Cost Explorer anomaly resources exist. */
export const COST_STACK_REGION = 'us-east-1';

/**
 * The cost-allocation tag that scopes the anomaly monitor and the budget to one environment. A
 * CUSTOM anomaly monitor takes a single tag key (CreateAnomalyMonitor API examples), so the value
 * itself must name both the project and the environment: `Project` is shared by every environment
 * and `Environment` may be shared with other projects in the account. Apply it to every resource
 * (`Tags.of(app).add(...)`) and activate the key once in the Billing console.
 */
export function costScopeTag(envName: string): CostAllocationTag {
  return { key: 'CostScope', value: `llm-tier-router-${envName}` };
}

/** Props of {@link CostStack}. */
export interface CostStackProps extends Omit<StackProps, 'env'> {
  readonly envName: string;
  /** Account of the environment; the region is always us-east-1. */
  readonly account?: string;
  readonly costAllocationTag: CostAllocationTag;
  readonly alarms: Pick<EnvConfig['alarms'], 'emails' | 'monthlyBudgetUsd' | 'anomalyThresholdUsd'>;
}

/**
 * Cost Anomaly Detection and the monthly AWS Budget of one environment, pinned to us-east-1.
 *
 * It owns its own encrypted us-east-1 alarm topic, with the same email subscriptions as the
 * environment's topic, rather than publishing to the environment stack's topic:
 * - the documentation of both services promises delivery only to a topic in the same account and
 *   says nothing of other regions, and anomaly alerts to a topic outside us-east-1 have been
 *   reported undelivered ("We were unable to publish to your SNS topic arn:aws:sns:eu-west-2:...");
 * - a cross-region reference would need CDK's SSM-backed custom resources and would tie the two
 *   stacks' deploy order together, while this stack needs nothing from the environment stack;
 * - the alert reaches the same people either way.
 * When the environment itself runs in us-east-1 the two topics simply sit side by side.
 */
export class CostStack extends Stack {
  public readonly alarmTopic: AlarmTopic;
  public readonly costGuard: CostGuard;

  constructor(scope: Construct, id: string, props: CostStackProps) {
    super(scope, id, { ...props, env: { account: props.account, region: COST_STACK_REGION } });
    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', {
      envName: `${props.envName}-cost`,
      emails: props.alarms.emails,
      publishers: ['budgets', 'costalerts'],
    });
    this.costGuard = new CostGuard(this, 'CostGuard', {
      envName: props.envName,
      costAllocationTag: props.costAllocationTag,
      thresholds: props.alarms,
      topic: this.alarmTopic.topic,
    });
    // The services check that they may publish when the subscription and budget are created.
    this.costGuard.node.addDependency(this.alarmTopic);
  }
}

/** Props of {@link addCostStack}: the stack's props plus the config's opt-out switch. */
export interface AddCostStackProps extends CostStackProps {
  /** `alarms.costGuardEnabled`: false where anomaly monitors and budgets are managed centrally. */
  readonly enabled: boolean;
}

/** Adds the cost stack unless the environment opted out; returns it when added. */
export function addCostStack(scope: Construct, id: string, props: AddCostStackProps): CostStack | undefined {
  const { enabled, ...stackProps } = props;
  return enabled ? new CostStack(scope, id, stackProps) : undefined;
}
