import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { EnvConfig } from './config/schema';
import { EnvironmentStack } from './environment-stack';
import { addCostStack, CostStack, costScopeTag } from './cost-stack';

/** Tag keys used for cost allocation on every resource. */
export const PROJECT_TAG = { key: 'Project', value: 'llm-tier-router' } as const;
/** Tag key carrying the environment name. */
export const ENVIRONMENT_TAG_KEY = 'Environment';

/** Stack name of an environment. */
export function environmentStackName(envName: string): string {
  return `LlmTierRouter-${envName}`;
}

/** Stack name of an environment's us-east-1 cost stack. */
export function costStackName(envName: string): string {
  return `LlmTierRouterCost-${envName}`;
}

/** The stacks of one environment, built into `app`. */
export interface BuiltApp {
  readonly environment: EnvironmentStack;
  /** The us-east-1 cost stack, unless `alarms.costGuardEnabled` is false. */
  readonly cost?: CostStack;
}

/**
 * Builds every stack of one environment into `app`, tags everything for cost allocation and attaches
 * the cdk-nag AwsSolutions checks (a remaining finding fails the synth).
 */
export function buildApp(app: App, config: EnvConfig, options: { nag?: boolean } = {}): BuiltApp {
  const env = { account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT, region: config.region };
  const environment = new EnvironmentStack(app, environmentStackName(config.envName), {
    config,
    env,
    description: `llm-tier-router ${config.envName}: tiered, self-hosted OpenAI-compatible LLM endpoint`,
  });

  const costScope = costScopeTag(config.envName);
  const cost = addCostStack(app, costStackName(config.envName), {
    enabled: config.alarms.costGuardEnabled,
    envName: config.envName,
    account: env.account,
    costAllocationTag: costScope,
    alarms: config.alarms,
    description: `llm-tier-router ${config.envName}: cost anomaly monitor and monthly budget (us-east-1)`,
  });

  Tags.of(app).add(PROJECT_TAG.key, PROJECT_TAG.value);
  Tags.of(app).add(costScope.key, costScope.value);
  Tags.of(app).add(ENVIRONMENT_TAG_KEY, config.envName);
  for (const [key, value] of Object.entries(config.tags)) {
    Tags.of(app).add(key, value);
  }
  if (options.nag !== false) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }
  return { environment, cost };
}
