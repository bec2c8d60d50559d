/**
 * The proxy's long-lived parts, built once from its config: a runtime per tier (upstream client,
 * breaker, metrics, hold queue), the dispatch policy's numbers, the router fleet's clients and the
 * exemplar loader, and the CloudWatch publisher when metrics go there.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Logger } from 'pino';
import { CircuitBreaker } from './breaker';
import { effectiveNamespace, tierWhenEmpty, type ProxyConfig } from './config';
import { HoldQueue } from './dispatch/hold';
import type { PolicyConfig } from './dispatch/policy';
import type { TierRuntime } from './dispatch/types';
import type { CloudWatchPublisher } from './metrics/cloudwatch';
import type { ProxyMetrics } from './metrics/registry';
import type { ScoringBackends } from './routing/router';
import { CentroidLoader, EmbeddingClient, ScorerClient, routingData, scoringBackends } from './scoring';
import { Upstream } from './upstream';

/** What the server runs on. */
export interface ProxyRuntime {
  readonly tiers: TierRuntime[];
  /** Per tier: requests held while it has no capacity. */
  readonly holds: readonly HoldQueue[];
  readonly policy: PolicyConfig;
  readonly embedding: Upstream;
  readonly scorer: Upstream;
  /** Every upstream client, closed at shutdown. */
  readonly upstreams: readonly Upstream[];
  readonly backends: ScoringBackends;
  /** Embeds the exemplars at start-up (absent when the scoring back-ends were injected). */
  readonly loader: CentroidLoader | undefined;
  readonly publisher: CloudWatchPublisher | undefined;
}

/** Builds the runtime; `scoring` and `cloudwatch` replace the real clients in tests. */
export function buildRuntime(config: ProxyConfig, metrics: ProxyMetrics, log: Logger, scoring?: ScoringBackends, cloudwatch?: CloudWatchClient): ProxyRuntime {
  const keepAlive = config.dispatch.upstreamKeepAliveMs;
  const tiers = config.tiers.map((cfg, index) => ({
    index,
    cfg,
    upstream: new Upstream(cfg.baseUrl, cfg.maxSockets, keepAlive),
    breaker: new CircuitBreaker(config.dispatch.breaker),
    metrics: metrics.tiers[index],
  }));
  const d = config.dispatch;
  const probeMs = config.readiness.probeTimeoutMs;
  const holds = tiers.map((t) => new HoldQueue(t.cfg.holdQueueSize, d.holdProbeIntervalMs, () => t.upstream.health(probeMs).then((h) => h.reachable)));
  const policy: PolicyConfig = {
    retries: d.retries,
    backoffMs: d.backoffMs,
    maxBackoffMs: d.maxBackoffMs,
    maxRetryAfterMs: d.maxRetryAfterMs,
    maxAttempts: d.maxAttempts,
    whenEmpty: config.tiers.map((_, i) => tierWhenEmpty(config, i)),
    maxHoldMs: config.tiers.map((t) => t.maxHoldMs),
  };
  const r = config.router;
  const embedding = new EmbeddingClient(r.embedding, keepAlive);
  const scorer = new ScorerClient(r.scorer, keepAlive);
  let backends: ScoringBackends;
  let loader: CentroidLoader | undefined;
  if (scoring) {
    backends = scoring;
  } else {
    loader = new CentroidLoader(embedding, routingData(config), r.embedding.batchSize, r.centroidRetryMaxMs, log);
    backends = scoringBackends(embedding, scorer, loader);
  }
  let publisher: CloudWatchPublisher | undefined;
  if (config.metrics.enabled || cloudwatch) {
    // Loaded on demand: the AWS SDK costs ~16 MB of RSS that a run without CloudWatch does not need.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { CloudWatchClient: Client } = require('@aws-sdk/client-cloudwatch') as typeof import('@aws-sdk/client-cloudwatch');
    const { CloudWatchPublisher: Publisher } = require('./metrics/cloudwatch') as typeof import('./metrics/cloudwatch');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const client = cloudwatch ?? new Client(config.metrics.region ? { region: config.metrics.region } : {});
    publisher = new Publisher(client, metrics, log, {
      namespace: effectiveNamespace(config),
      flushIntervalMs: config.metrics.flushIntervalMs,
      pendingSampleMs: config.metrics.pendingSampleMs,
    });
  }
  return {
    tiers,
    holds,
    policy,
    embedding: embedding.upstream,
    scorer: scorer.upstream,
    upstreams: [...tiers.map((t) => t.upstream), embedding.upstream, scorer.upstream],
    backends,
    loader,
    publisher,
  };
}
