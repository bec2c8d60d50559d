import { Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EnvConfig } from './config/schema';
import { availabilityZones, fleetSpecs } from './config/fleets';
import { Network } from './constructs/network';
import { ModelFleets } from './constructs/model-fleets';

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
  /** The GPU fleets (router and tiers) behind the internal ALB. */
  readonly fleets: ModelFleets;

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    super(scope, id, props);
    const cfg = props.config;
    const logRetention = cfg.logRetentionDays as logs.RetentionDays;

    this.network = new Network(this, 'Network', {
      network: cfg.network,
      availabilityZones: availabilityZones(cfg),
      logRetention,
    });

    this.fleets = new ModelFleets(this, 'Fleets', {
      vpc: this.network.vpc,
      fleets: fleetSpecs(cfg),
      envName: cfg.envName,
      vllm: cfg.vllm,
      scaling: cfg.scaling,
      longestGenerationSeconds: cfg.longestGenerationSeconds,
      logRetentionDays: cfg.logRetentionDays,
    });
  }
}
