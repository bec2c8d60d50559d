/**
 * What the pre-warm function is told about the fleets (its `FLEETS` environment variable): the
 * stack renders it, the function parses it.
 *
 * This module must stay free of aws-cdk-lib imports: the Lambda bundle includes it.
 */

/** What kind of vLLM server listens on a port, which decides the warm-up request's shape. */
export type ServerKind = 'chat' | 'completion' | 'embedding';

/** One vLLM server on every instance of a fleet. */
export interface ServerTarget {
  /** Port the server listens on, on the instance's private IP. */
  readonly port: number;
  /** API the warm-up request goes to. */
  readonly kind: ServerKind;
  /** Model name the server serves (its `--served-model-name`). */
  readonly model: string;
}

/** One fleet: an Auto Scaling group whose instances all run the same servers. */
export interface FleetTarget {
  /** Fleet name (`router` or a tier name), the `Fleet` dimension of the published metrics. */
  readonly fleet: string;
  /** Physical name of the fleet's Auto Scaling group. */
  readonly asgName: string;
  /** Servers every instance runs. */
  readonly servers: readonly ServerTarget[];
}
