/**
 * The one definition of every metric name, dimension, and port shared by the proxy, the on-instance
 * publisher, the scaling policies, the alarms, the dashboard and the pre-warm function.
 *
 * This module must stay free of aws-cdk-lib imports: the proxy and the Lambda bundle it.
 */

/** Prefix of the per-environment CloudWatch namespace. */
export const METRICS_NAMESPACE_PREFIX = 'LlmTierRouter';

/** CloudWatch namespace of one environment, e.g. `LlmTierRouter/prod`. */
export function metricsNamespace(envName: string): string {
  return `${METRICS_NAMESPACE_PREFIX}/${envName}`;
}

/** Dimension names. */
export const Dimension = {
  /** Auto Scaling group name, on every fleet metric published from an instance. */
  AutoScalingGroupName: 'AutoScalingGroupName',
  /** Fleet name: `router` or a tier name. */
  Fleet: 'Fleet',
  /** Tier name, on per-tier metrics the proxy publishes. */
  Tier: 'Tier',
  /** Why a scoring fallback happened. */
  Reason: 'Reason',
} as const;

/** Name of the fleet that scores prompts. Tier names come from config and may not take it. */
export const ROUTER_FLEET_NAME = 'router';

/**
 * vLLM gauges the on-instance publisher reads from `/metrics` every 10 s and sends with
 * StorageResolution 1 and dimensions {AutoScalingGroupName, Fleet}. CloudWatch names cannot carry the
 * Prometheus colon, so the published name replaces it with an underscore (facts.md).
 */
export const FleetMetric = {
  RequestsWaiting: 'vllm_num_requests_waiting',
  RequestsRunning: 'vllm_num_requests_running',
  KvCacheUsage: 'vllm_kv_cache_usage_perc',
} as const;

/** Prometheus series name (as vLLM exposes it) for each published fleet metric. */
export const FLEET_METRIC_SOURCES: Readonly<Record<keyof typeof FleetMetric, string>> = {
  RequestsWaiting: 'vllm:num_requests_waiting',
  RequestsRunning: 'vllm:num_requests_running',
  KvCacheUsage: 'vllm:kv_cache_usage_perc',
};

/** Metrics the routing proxy publishes. Per-tier ones carry the `Tier` dimension. */
export const ProxyMetric = {
  /** In-flight requests per tier, 1 s storage resolution (an instantaneous gauge: dashboards only). Unit Count. */
  PendingRequests: 'PendingRequests',
  /**
   * Requests that found no capacity on a tier (its load balancer had no healthy target, so the
   * attempt was refused at once), per tier, counted once per request and published every flush at
   * 1 s storage resolution. Its Sum over a period starts a tier from zero. Unit Count.
   */
  NoCapacityRequests: 'NoCapacityRequests',
  /** Requests dispatched to a tier. Unit Count. */
  RoutedRequests: 'RoutedRequests',
  /** Prompt tokens per tier. Unit Count. */
  InputTokens: 'InputTokens',
  /** Completion tokens per tier. Unit Count. */
  OutputTokens: 'OutputTokens',
  /** Output tokens x the tier's price per 1k output tokens. Unit None (USD). */
  EstimatedCostUsd: 'EstimatedCostUsd',
  /** Time spent scoring a prompt, no dimension. Unit Milliseconds. */
  RouterLatency: 'RouterLatencyMs',
  /** The routing score of each scored request, no dimension (percentiles). Unit None. */
  RouteScore: 'RouteScore',
  /** Scoring fallbacks, dimension `Reason`. Unit Count. */
  ScoringFallbacks: 'ScoringFallbacks',
  /** Failed upstream attempts per tier (5xx, 429, connect errors, deadlines). Unit Count. */
  UpstreamErrors: 'UpstreamErrors',
  /** Time to first byte of the answer per tier. Unit Milliseconds. */
  TimeToFirstToken: 'TimeToFirstTokenMs',
  /** End-to-end request latency per tier. Unit Milliseconds. */
  EndToEndLatency: 'EndToEndLatencyMs',
  /** Responses with status >= 500 sent to clients, no dimension. Unit Count. */
  ClientErrors5xx: 'Proxy5xx',
  /**
   * Shadow mode only: the tier the router decided for each request it routed, while the configured
   * serve tier answered, per tier (dimension `Tier`: the decided tier). Unit Count.
   */
  ShadowDecisions: 'ShadowDecisions',
  /** Shadow comparisons started: a sampled request sent also to the other tier of the pair, no dimension. Unit Count. */
  ShadowSamples: 'ShadowSamples',
  /** Shadow comparisons dropped before their pair was stored, dimension `Reason` ({@link ShadowDropReason}). Unit Count. */
  ShadowDropped: 'ShadowDropped',
  /** Comparison pairs written to the shadow store, no dimension. Unit Count. */
  ShadowPairsStored: 'ShadowPairsStored',
  /** Failed writes of a batch of pairs to the shadow store, no dimension. Unit Count. */
  ShadowStoreErrors: 'ShadowStoreErrors',
} as const;

/**
 * Values of the `Reason` dimension on `ShadowDropped`: why a sampled comparison was given up. A
 * comparison is the first thing dropped under load, and never silently.
 */
export const ShadowDropReason = {
  /** The task's bound on shadow requests in flight (or on captures in progress) was reached. */
  Busy: 'Busy',
  /** The comparison tier's breaker was open, requests were held for its capacity, or it answered with no capacity. */
  TierUnavailable: 'TierUnavailable',
  /** The shadow request failed (error status, broken connection, deadline, unreadable answer). */
  ShadowFailed: 'ShadowFailed',
  /** The client's answer did not end cleanly, moved to another tier, or was too large to capture. */
  NotCaptured: 'NotCaptured',
  /** The store's in-memory buffer was full. */
  BufferFull: 'BufferFull',
  /** The batch holding the pair could not be written. */
  StoreFailed: 'StoreFailed',
  /** The proxy stopped while the comparison was under way. */
  Shutdown: 'Shutdown',
} as const;

/**
 * Values of the `Reason` dimension on `ScoringFallbacks`. Alarms cannot aggregate across dimension
 * values with SEARCH, so the alarms sum these by name: the proxy must publish only these.
 */
export const ScoringFallbackReason = {
  /** The self-rating call failed; the embedding score decided alone. */
  ScorerFailed: 'ScorerFailed',
  /** The embedding call failed; the self-rating decided alone. */
  EmbeddingFailed: 'EmbeddingFailed',
  /** Both scoring calls failed; the configured fallback tier served. */
  BothFailed: 'BothFailed',
} as const;

/** Metrics the pre-warm function publishes, dimension `Fleet`. */
export const PrewarmMetric = {
  /** Latency of one warm-up request to one instance. Unit Milliseconds. */
  WarmupLatency: 'PrewarmLatencyMs',
  /** Instances that failed to answer a warm-up request. Unit Count. */
  WarmupFailures: 'PrewarmFailures',
} as const;

/** Ports on the GPU instances and the proxy. */
export const Ports = {
  /** vLLM server of a tier instance. */
  tierVllm: 8000,
  /** The router's scorer LLM server. */
  routerScorer: 8000,
  /** The router's embedding server. */
  routerEmbedding: 8001,
  /** The routing proxy container. */
  proxy: 8080,
} as const;

/**
 * Listener ports of the internal ALB: one listener per served endpoint, so a client picks the
 * endpoint by port. Tier `i` (0-based, cheapest first) listens on `firstTier + i`.
 */
export const InternalListenerPorts = {
  /** The router's scorer LLM. */
  routerScorer: 9000,
  /** The router's embedding server. */
  routerEmbedding: 9001,
  /** The first (cheapest) tier; later tiers follow on consecutive ports. */
  firstTier: 9010,
} as const;

/** Most tiers the internal listener port scheme leaves room for (9010-9099). */
export const MAX_TIER_LISTENERS = 90;

/** Internal ALB listener port of one served endpoint. */
export function internalListenerPort(role: 'generate' | 'scorer' | 'embedding', tierIndex = 0): number {
  if (role === 'scorer') return InternalListenerPorts.routerScorer;
  if (role === 'embedding') return InternalListenerPorts.routerEmbedding;
  if (!Number.isInteger(tierIndex) || tierIndex < 0 || tierIndex >= MAX_TIER_LISTENERS) {
    throw new Error(`internalListenerPort: got tier index ${tierIndex}, expected an integer in [0, ${MAX_TIER_LISTENERS})`);
  }
  return InternalListenerPorts.firstTier + tierIndex;
}
