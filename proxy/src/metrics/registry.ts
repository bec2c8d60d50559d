/**
 * In-memory metric instruments. Each keeps cumulative totals (for Prometheus) and, when a CloudWatch
 * publisher is attached, a window drained at every flush. Names and dimensions come only from the
 * shared contract.
 */
import { Dimension, ProxyMetric, ScoringFallbackReason } from '../../../contracts/metrics';

/** CloudWatch units used here. */
export type Unit = 'Count' | 'Milliseconds' | 'None';

/** A metric identity. */
export interface MetricId {
  readonly name: string;
  readonly unit: Unit;
  readonly dimensions: ReadonlyArray<{ readonly Name: string; readonly Value: string }>;
  /** 1: published as a high-resolution metric (a scaling signal read at 10 s periods). @default 60 */
  readonly storageResolution?: 1;
}

/** Counts events. */
export class Counter {
  total = 0;
  window = 0;
  constructor(readonly id: MetricId) {}
  inc(n = 1): void {
    this.total += n;
    this.window += n;
  }
}

/** Adds amounts (tokens, cost); published as a statistic set. */
export class Summed {
  total = 0;
  count = 0;
  wSum = 0;
  wCount = 0;
  wMin = Infinity;
  wMax = -Infinity;
  constructor(readonly id: MetricId) {}
  add(v: number): void {
    this.total += v;
    this.count++;
    this.wSum += v;
    this.wCount++;
    if (v < this.wMin) this.wMin = v;
    if (v > this.wMax) this.wMax = v;
  }
  resetWindow(): void {
    this.wSum = 0;
    this.wCount = 0;
    this.wMin = Infinity;
    this.wMax = -Infinity;
  }
}

/** Records a distribution (latencies, scores): Prometheus histogram plus CloudWatch values/counts. */
export class Distribution {
  readonly bucketCounts: number[];
  sum = 0;
  count = 0;
  /** Rounded value -> occurrences since the last flush; only kept while `windowed`. */
  window = new Map<number, number>();
  windowed = false;
  constructor(readonly id: MetricId, readonly buckets: readonly number[], private readonly precision: 'ms' | 'unit') {
    this.bucketCounts = new Array<number>(buckets.length).fill(0);
  }
  record(v: number): void {
    if (!Number.isFinite(v)) return;
    this.sum += v;
    this.count++;
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]) {
        this.bucketCounts[i]++;
        break;
      }
    }
    if (this.windowed) {
      const r = this.precision === 'unit' ? Math.round(v * 100) / 100 : roundMs(v);
      this.window.set(r, (this.window.get(r) ?? 0) + 1);
    }
  }
}

/** Three significant digits below 1 s, whole ms above: bounded distinct values per flush. */
function roundMs(v: number): number {
  if (v >= 1000) return Math.round(v);
  if (v >= 100) return Math.round(v);
  if (v >= 10) return Math.round(v * 10) / 10;
  return Math.round(v * 100) / 100;
}

const MS_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000];
const SCORE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.8, 0.9, 1];

/** Instruments of one tier. */
export class TierMetrics {
  /** Requests in flight on this tier now (the scale-from-zero signal). */
  pending = 0;
  /** Samples of `pending` since the last flush: [epoch ms, value]. */
  pendingSamples: Array<[number, number]> = [];
  readonly routed: Counter;
  readonly inputTokens: Summed;
  readonly outputTokens: Summed;
  readonly cost: Summed;
  readonly upstreamErrors: Counter;
  /** Requests that found no capacity on this tier, once per request (the scale-from-zero signal). */
  readonly noCapacity: Counter;
  readonly ttft: Distribution;
  readonly e2e: Distribution;
  readonly pendingId: MetricId;

  constructor(readonly tier: string, readonly pricePer1kOutputTokensUsd: number) {
    const dims = [{ Name: Dimension.Tier, Value: tier }];
    this.pendingId = { name: ProxyMetric.PendingRequests, unit: 'Count', dimensions: dims };
    this.routed = new Counter({ name: ProxyMetric.RoutedRequests, unit: 'Count', dimensions: dims });
    this.inputTokens = new Summed({ name: ProxyMetric.InputTokens, unit: 'Count', dimensions: dims });
    this.outputTokens = new Summed({ name: ProxyMetric.OutputTokens, unit: 'Count', dimensions: dims });
    this.cost = new Summed({ name: ProxyMetric.EstimatedCostUsd, unit: 'None', dimensions: dims });
    this.upstreamErrors = new Counter({ name: ProxyMetric.UpstreamErrors, unit: 'Count', dimensions: dims });
    this.noCapacity = new Counter({ name: ProxyMetric.NoCapacityRequests, unit: 'Count', dimensions: dims, storageResolution: 1 });
    this.ttft = new Distribution({ name: ProxyMetric.TimeToFirstToken, unit: 'Milliseconds', dimensions: dims }, MS_BUCKETS, 'ms');
    this.e2e = new Distribution({ name: ProxyMetric.EndToEndLatency, unit: 'Milliseconds', dimensions: dims }, MS_BUCKETS, 'ms');
  }

  /** Records the token usage of one answer and its estimated cost. */
  usage(promptTokens: number, completionTokens: number): void {
    this.inputTokens.add(promptTokens);
    this.outputTokens.add(completionTokens);
    this.cost.add((completionTokens / 1000) * this.pricePer1kOutputTokensUsd);
  }
}

/** The values of the `Reason` dimension. */
export type FallbackReason = (typeof ScoringFallbackReason)[keyof typeof ScoringFallbackReason];

/** Every metric the proxy publishes. */
export class ProxyMetrics {
  readonly tiers: TierMetrics[];
  readonly routerLatency = new Distribution({ name: ProxyMetric.RouterLatency, unit: 'Milliseconds', dimensions: [] }, MS_BUCKETS, 'ms');
  readonly routeScore = new Distribution({ name: ProxyMetric.RouteScore, unit: 'None', dimensions: [] }, SCORE_BUCKETS, 'unit');
  readonly fallbacks: Record<FallbackReason, Counter>;
  readonly proxy5xx = new Counter({ name: ProxyMetric.ClientErrors5xx, unit: 'Count', dimensions: [] });

  constructor(tiers: ReadonlyArray<{ name: string; pricePer1kOutputTokensUsd: number }>) {
    this.tiers = tiers.map((t) => new TierMetrics(t.name, t.pricePer1kOutputTokensUsd));
    const f = {} as Record<FallbackReason, Counter>;
    for (const r of Object.values(ScoringFallbackReason)) {
      f[r] = new Counter({ name: ProxyMetric.ScoringFallbacks, unit: 'Count', dimensions: [{ Name: Dimension.Reason, Value: r }] });
    }
    this.fallbacks = f;
  }

  /** Distributions, for toggling their CloudWatch window. */
  distributions(): Distribution[] {
    return [this.routerLatency, this.routeScore, ...this.tiers.flatMap((t) => [t.ttft, t.e2e])];
  }

  /** Counters. */
  counters(): Counter[] {
    return [...this.tiers.flatMap((t) => [t.routed, t.upstreamErrors, t.noCapacity]), ...Object.values(this.fallbacks), this.proxy5xx];
  }

  /** Summed instruments. */
  sums(): Summed[] {
    return this.tiers.flatMap((t) => [t.inputTokens, t.outputTokens, t.cost]);
  }
}

/** Maps a route reason's fallback part to the contract's `Reason` value. */
export function fallbackDimension(why: string): FallbackReason | undefined {
  if (why.startsWith('embedding-')) return ScoringFallbackReason.EmbeddingFailed;
  if (why.startsWith('scorer-')) return ScoringFallbackReason.ScorerFailed;
  if (why === 'scoring-unavailable') return ScoringFallbackReason.BothFailed;
  return undefined;
}
