/**
 * Fleets are data: the router and every tier become one uniform list of fleet specs, built from the
 * validated config. Constructs, user data, the planner and the proxy config all read this list.
 */
import { MODEL_CATALOG, pinnedRevisions } from '../catalog/models';
import { Ports, ROUTER_FLEET_NAME } from '../../contracts/metrics';
import type { EnvConfig, RouterServerConfig, TierConfig } from './schema';

/** What one vLLM server on a fleet instance runs. */
export interface VllmServerSpec {
  /** `scorer` and `embedding` on the router fleet, `generate` on a tier. */
  readonly role: 'generate' | 'scorer' | 'embedding';
  readonly port: number;
  /** Catalog name of the model. */
  readonly model: string;
  /** Hugging Face repository loaded by vLLM. */
  readonly hubModelId: string;
  /** `--served-model-name`: the model name clients and the proxy send. */
  readonly servedModelName: string;
  /** `pooling` servers run with `--runner pooling` (embeddings). */
  readonly runner: 'generate' | 'pooling';
  readonly weightFormat: RouterServerConfig['weightFormat'];
  readonly maxModelLen: number;
  readonly maxNumBatchedTokens: number;
  readonly maxNumSeqs: number;
  readonly tensorParallelSize: number;
  readonly kvCacheDtype: RouterServerConfig['kvCacheDtype'];
  readonly gpuMemoryUtilization: number;
  /** Extra flags the model needs (from the catalog). */
  readonly extraArgs: readonly string[];
  /** The model runs Python from the hub (`--trust-remote-code`); both revisions are then pinned. */
  readonly trustRemoteCode: boolean;
  /** Commit of the weights repository (`--revision`); absent loads the main branch. */
  readonly revision?: string;
  /** Commit of the repository holding the remote code (`--code-revision`). */
  readonly codeRevision?: string;
  /** True when the model's repository is gated and needs the Hugging Face token. */
  readonly gated: boolean;
}

/** One Auto Scaling group of identical GPU instances. */
export interface FleetSpec {
  /** `router` or the tier name: used in construct ids, metric dimensions and resource names. */
  readonly name: string;
  readonly kind: 'router' | 'tier';
  readonly instanceType: string;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly businessHoursMinCapacity: number;
  /**
   * Seconds an instance has to boot: load balancer health-check grace, instance warm-up of the group
   * and its scaling policies, the boot script's wait for /health, and the signal timeout of stack
   * creation and rolling updates.
   */
  readonly healthCheckGraceSeconds: number;
  readonly rootVolumeGiB: number;
  /** Provisioned gp3 throughput of the root volume. */
  readonly rootVolumeThroughputMiBps: number;
  /** Provisioned gp3 IOPS of the root volume. */
  readonly rootVolumeIops: number;
  /** Servers started one after the other on each instance. */
  readonly servers: readonly VllmServerSpec[];
  /** USD per 1k output tokens (tiers only). */
  readonly pricePer1kOutputTokensUsd?: number;
  /** Target tracking's target as a fraction of maxNumSeqs, when the fleet sets its own. */
  readonly targetLoadFraction?: number;
}

function server(
  role: VllmServerSpec['role'],
  port: number,
  s: RouterServerConfig,
  tensorParallelSize: number,
): VllmServerSpec {
  const model = MODEL_CATALOG[s.model];
  const pins = pinnedRevisions(model, s);
  return {
    role,
    port,
    model: s.model,
    hubModelId: s.hubModelId ?? (model.builds[s.weightFormat] as string),
    servedModelName: s.servedModelName ?? model.servedName,
    runner: model.runner,
    weightFormat: s.weightFormat,
    maxModelLen: s.maxModelLen,
    maxNumBatchedTokens: s.maxNumBatchedTokens,
    maxNumSeqs: s.maxNumSeqs,
    tensorParallelSize,
    kvCacheDtype: s.kvCacheDtype,
    gpuMemoryUtilization: s.gpuMemoryUtilization,
    extraArgs: model.extraArgs ?? [],
    trustRemoteCode: model.remoteCode !== undefined,
    ...(pins.revision ? { revision: pins.revision } : {}),
    ...(pins.codeRevision ? { codeRevision: pins.codeRevision } : {}),
    gated: model.gated,
  };
}

/** The tier fleet of one tier config. */
export function tierFleet(tier: TierConfig): FleetSpec {
  return {
    name: tier.name,
    kind: 'tier',
    instanceType: tier.instanceType,
    minCapacity: tier.minCapacity,
    maxCapacity: tier.maxCapacity,
    businessHoursMinCapacity: tier.businessHoursMinCapacity,
    healthCheckGraceSeconds: tier.healthCheckGraceSeconds,
    rootVolumeGiB: tier.rootVolumeGiB,
    rootVolumeThroughputMiBps: tier.rootVolumeThroughputMiBps,
    rootVolumeIops: tier.rootVolumeIops,
    servers: [server('generate', Ports.tierVllm, tier, tier.tensorParallelSize)],
    pricePer1kOutputTokensUsd: tier.pricePer1kOutputTokensUsd,
    ...(tier.targetLoadFraction === undefined ? {} : { targetLoadFraction: tier.targetLoadFraction }),
  };
}

/** Every fleet of an environment: the router first, then the tiers in order (cheapest first). */
export function fleetSpecs(cfg: EnvConfig): FleetSpec[] {
  const router: FleetSpec = {
    name: ROUTER_FLEET_NAME,
    kind: 'router',
    instanceType: cfg.router.instanceType,
    minCapacity: cfg.router.minCapacity,
    maxCapacity: cfg.router.maxCapacity,
    businessHoursMinCapacity: cfg.router.businessHoursMinCapacity,
    healthCheckGraceSeconds: cfg.router.healthCheckGraceSeconds,
    rootVolumeGiB: cfg.router.rootVolumeGiB,
    rootVolumeThroughputMiBps: cfg.router.rootVolumeThroughputMiBps,
    rootVolumeIops: cfg.router.rootVolumeIops,
    servers: [
      server('scorer', Ports.routerScorer, cfg.router.scorer, 1),
      server('embedding', Ports.routerEmbedding, cfg.router.embedding, 1),
    ],
  };
  return [router, ...cfg.tiers.map(tierFleet)];
}

/** The AZ names of the environment: configured, else the region's first `azCount` zones. */
export function availabilityZones(cfg: EnvConfig): string[] {
  if (cfg.network.availabilityZones) {
    return cfg.network.availabilityZones.slice(0, cfg.network.azCount);
  }
  return Array.from({ length: cfg.network.azCount }, (_, i) => `${cfg.region}${String.fromCharCode(97 + i)}`);
}
