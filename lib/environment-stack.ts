import { Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EnvConfig } from './config/schema';
import { availabilityZones } from './config/fleets';
import { Network } from './constructs/network';

/** Props of {@link EnvironmentStack}. */
export interface EnvironmentStackProps extends StackProps {
  /** The validated configuration of the environment. */
  readonly config: EnvConfig;
}

/**
 * One environment of the tiered LLM endpoint. It only wires constructs: each receives the config
 * slice it needs and the outputs of the constructs before it.
 */
export class EnvironmentStack extends Stack {
  /** The environment's network. */
  readonly network: Network;

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    super(scope, id, props);
    const cfg = props.config;
    const logRetention = cfg.logRetentionDays as logs.RetentionDays;

    this.network = new Network(this, 'Network', {
      network: cfg.network,
      availabilityZones: availabilityZones(cfg),
      logRetention,
    });
  }
}
