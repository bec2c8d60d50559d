/**
 * CloudWatch publisher: aggregates in memory and sends PutMetricData at most every flush interval
 * in batches, never one call per request. Failures are logged and the data dropped; missing
 * credentials switch it off with one warning.
 */
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { Logger } from 'pino';
import type { MetricId, ProxyMetrics } from './registry';

/** PutMetricData accepts at most 1,000 metrics per call. */
export const MAX_DATUMS_PER_CALL = 1000;
/** PutMetricData accepts at most 150 values in one datum's Values/Counts arrays. */
export const MAX_VALUES_PER_DATUM = 150;
/** PutMetricData payloads are limited to 1 MB; stay well under it. */
const MAX_CALL_BYTES = 800_000;
const WARN_EVERY_MS = 60_000;

/** Options of the publisher. */
export interface PublisherOptions {
  readonly namespace: string;
  readonly flushIntervalMs: number;
  readonly pendingSampleMs: number;
  /** Clock (epoch ms). */
  readonly now?: () => number;
}

/** Publishes {@link ProxyMetrics} to CloudWatch. */
export class CloudWatchPublisher {
  private flushTimer: NodeJS.Timeout | undefined;
  private sampleTimer: NodeJS.Timeout | undefined;
  private disabled = false;
  private lastWarnAt = -Infinity;
  private inFlight: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly maxSamples: number;

  constructor(
    private readonly client: CloudWatchClient,
    private readonly metrics: ProxyMetrics,
    private readonly log: Logger,
    private readonly opts: PublisherOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.maxSamples = Math.max(2, Math.ceil((opts.flushIntervalMs * 3) / opts.pendingSampleMs));
    for (const d of metrics.distributions()) d.windowed = true;
  }

  /** Whether the publisher switched itself off. */
  get off(): boolean {
    return this.disabled;
  }

  /** Starts sampling the in-flight gauge and the flush timer. */
  start(): void {
    this.sampleTimer = setInterval(() => this.sample(), this.opts.pendingSampleMs);
    this.sampleTimer.unref();
    this.flushTimer = setInterval(() => void this.flush(), this.opts.flushIntervalMs);
    this.flushTimer.unref();
  }

  /** Takes one sample of every tier's in-flight gauge. */
  sample(): void {
    const ts = this.now();
    for (const t of this.metrics.tiers) {
      t.pendingSamples.push([ts, t.pending]);
      if (t.pendingSamples.length > this.maxSamples) t.pendingSamples.shift();
    }
  }

  /** Stops the timers and sends what is left (bounded by `timeoutMs`). */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.sampleTimer) clearInterval(this.sampleTimer);
    this.sample();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    if (timer) clearTimeout(timer);
  }

  /** Drains the windows into datums and sends them; never rejects. */
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const data = this.drain();
    if (this.disabled || data.length === 0) return Promise.resolve();
    this.inFlight = this.send(data).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Builds the datums of the current window and resets it. */
  drain(): MetricDatum[] {
    const ts = new Date(this.now());
    const out: MetricDatum[] = [];
    const m = this.metrics;
    for (const t of m.tiers) {
      for (const [at, v] of t.pendingSamples) {
        out.push({ ...base(t.pendingId), Timestamp: new Date(at), Value: v, StorageResolution: 1 });
      }
      t.pendingSamples = [];
    }
    // Every counter goes out every flush, zeros included: a scaling alarm on a Sum needs datapoints,
    // not missing data, to go back to OK.
    for (const c of m.counters()) {
      out.push({ ...base(c.id), Timestamp: ts, Value: c.window });
      c.window = 0;
    }
    for (const s of m.sums()) {
      if (s.wCount > 0) {
        out.push({ ...base(s.id), Timestamp: ts, StatisticValues: { SampleCount: s.wCount, Sum: s.wSum, Minimum: s.wMin, Maximum: s.wMax } });
      }
      s.resetWindow();
    }
    for (const d of m.distributions()) {
      if (d.window.size > 0) {
        const entries = [...d.window.entries()];
        for (let i = 0; i < entries.length; i += MAX_VALUES_PER_DATUM) {
          const slice = entries.slice(i, i + MAX_VALUES_PER_DATUM);
          out.push({ ...base(d.id), Timestamp: ts, Values: slice.map((e) => e[0]), Counts: slice.map((e) => e[1]) });
        }
      }
      d.window = new Map();
    }
    return out;
  }

  private async send(data: MetricDatum[]): Promise<void> {
    for (const batch of batches(data)) {
      if (this.disabled) return;
      try {
        await this.client.send(new PutMetricDataCommand({ Namespace: this.opts.namespace, MetricData: batch }));
      } catch (e) {
        this.onError(e as Error & { name?: string });
        return;
      }
    }
  }

  private onError(e: Error & { name?: string }): void {
    const msg = e.message ?? String(e);
    if (e.name === 'CredentialsProviderError' || /credential|region is missing|Region is missing/i.test(msg)) {
      this.disabled = true;
      this.log.warn({ err: msg }, 'CloudWatch metrics are off: no AWS credentials or region (local run); /metrics still serves them');
      return;
    }
    const now = this.now();
    if (now - this.lastWarnAt >= WARN_EVERY_MS) {
      this.lastWarnAt = now;
      this.log.warn({ err: msg, name: e.name }, 'PutMetricData failed; this window of metrics is dropped');
    }
  }
}

function base(id: MetricId): MetricDatum {
  const d: MetricDatum = { MetricName: id.name, Unit: id.unit, Dimensions: id.dimensions.map((x) => ({ Name: x.Name, Value: x.Value })) };
  if (id.storageResolution) d.StorageResolution = id.storageResolution;
  return d;
}

/** Splits datums into calls within the per-call metric count and size limits. */
export function batches(data: MetricDatum[]): MetricDatum[][] {
  const out: MetricDatum[][] = [];
  let cur: MetricDatum[] = [];
  let bytes = 0;
  for (const d of data) {
    const size = 200 + (d.Values?.length ?? 0) * 40;
    if (cur.length >= MAX_DATUMS_PER_CALL || (cur.length > 0 && bytes + size > MAX_CALL_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(d);
    bytes += size;
  }
  if (cur.length) out.push(cur);
  return out;
}
