/**
 * The simulated CloudWatch: samples of each metric the scaling resources read, kept as 10-second
 * aggregates (the finest period an alarm or target tracking policy can ask for), and statistics over
 * any period that is a multiple of 10 s.
 */
import type { MetricId, MetricQuery, Statistic } from './model';
import { evaluateExpression } from './metric-math';

/** Seconds per stored bucket. */
export const BUCKET_SECONDS = 10;

/** The key of a metric: namespace, name and sorted dimensions. */
export function metricKey(m: MetricId): string {
  const dims = Object.keys(m.dimensions).sort().map((k) => `${k}=${m.dimensions[k]}`).join(',');
  return `${m.namespace}|${m.metricName}|${dims}`;
}

/** The samples of one metric. */
export class MetricSeries {
  private sum: Float64Array;
  private count: Float64Array;
  private max: Float64Array;
  private min: Float64Array;

  constructor(buckets: number) {
    this.sum = new Float64Array(buckets);
    this.count = new Float64Array(buckets);
    this.max = new Float64Array(buckets).fill(-Infinity);
    this.min = new Float64Array(buckets).fill(Infinity);
  }

  /** Records `samples` datapoints of `value` each, taken at simulated second `second`. */
  put(second: number, value: number, samples = 1): void {
    if (samples <= 0) return;
    const b = Math.floor(second / BUCKET_SECONDS);
    if (b >= this.sum.length) this.grow(b + 1);
    this.sum[b] += value * samples;
    this.count[b] += samples;
    if (value > this.max[b]) this.max[b] = value;
    if (value < this.min[b]) this.min[b] = value;
  }

  /** Adds to the sum of the bucket without adding a datapoint (counters published once a flush). */
  addToSum(second: number, value: number): void {
    const b = Math.floor(second / BUCKET_SECONDS);
    if (b >= this.sum.length) this.grow(b + 1);
    this.sum[b] += value;
  }

  /** The statistic over [end - period, end), or undefined when no datapoint falls in it. */
  stat(stat: Statistic, end: number, period: number): number | undefined {
    const hi = Math.floor(end / BUCKET_SECONDS);
    const lo = hi - Math.floor(period / BUCKET_SECONDS);
    let sum = 0;
    let count = 0;
    let max = -Infinity;
    let min = Infinity;
    for (let b = Math.max(0, lo); b < hi && b < this.sum.length; b++) {
      sum += this.sum[b];
      count += this.count[b];
      if (this.max[b] > max) max = this.max[b];
      if (this.min[b] < min) min = this.min[b];
    }
    if (count === 0) return undefined;
    switch (stat) {
      case 'Average': return sum / count;
      case 'Sum': return sum;
      case 'Maximum': return max;
      case 'Minimum': return min;
      case 'SampleCount': return count;
    }
  }

  private grow(size: number): void {
    const n = Math.max(size, this.sum.length * 2);
    const copy = (a: Float64Array, fill: number) => {
      const out = new Float64Array(n).fill(fill);
      out.set(a);
      return out;
    };
    this.sum = copy(this.sum, 0);
    this.count = copy(this.count, 0);
    this.max = copy(this.max, -Infinity);
    this.min = copy(this.min, Infinity);
  }
}

/** Every metric the simulated scaling resources read. */
export class MetricStore {
  private readonly series = new Map<string, MetricSeries>();
  // The model's metric objects are long-lived: looking them up by identity skips building the key.
  private readonly byObject = new WeakMap<MetricId, MetricSeries>();

  constructor(private readonly buckets: number) {}

  /** The series of a metric, created on first use. */
  of(m: MetricId): MetricSeries {
    const cached = this.byObject.get(m);
    if (cached) return cached;
    const key = metricKey(m);
    let s = this.series.get(key);
    if (!s) {
      s = new MetricSeries(this.buckets);
      this.series.set(key, s);
    }
    this.byObject.set(m, s);
    return s;
  }

  /** The datapoint of a query for the period that ends at `end` (seconds). */
  datapoint(q: MetricQuery, end: number): number | undefined {
    if (q.kind === 'stat') return this.of(q.metric).stat(q.stat, end, q.period);
    return evaluateExpression(q.expr, (id) => {
      const input = q.inputs[id];
      return input ? this.datapoint(input, end) : undefined;
    });
  }
}

/** Every metric a query reads. */
export function queryMetrics(q: MetricQuery): MetricId[] {
  if (q.kind === 'stat') return [q.metric];
  return Object.values(q.inputs).flatMap(queryMetrics);
}
