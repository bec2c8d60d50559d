/**
 * Prometheus text exposition (format 0.0.4) of the proxy's metrics: the same series as CloudWatch.
 * Each metric family is one contiguous group, `# HELP` then `# TYPE` then its samples, as the format
 * requires (scrapers reject or drop a family whose samples are split).
 */
import type { ProxyMetric } from '../../../contracts/metrics';
import type { Counter, Distribution, MetricId, ProxyMetrics, Summed } from './registry';

/** One `# HELP` line per metric the proxy publishes; a new contract name needs its text here. */
const HELP: Readonly<Record<(typeof ProxyMetric)[keyof typeof ProxyMetric], string>> = {
  PendingRequests: 'Requests in flight on a tier now.',
  NoCapacityRequests: 'Requests that found no capacity on a tier (its load balancer had no healthy target).',
  RoutedRequests: 'Requests dispatched to a tier.',
  InputTokens: 'Prompt tokens of the answers a tier gave.',
  OutputTokens: 'Completion tokens of the answers a tier gave.',
  EstimatedCostUsd: "Output tokens times the tier's price per 1k output tokens, USD.",
  RouterLatencyMs: 'Time spent scoring a prompt, milliseconds.',
  RouteScore: 'Routing score of each scored request, 0 to 1.',
  ScoringFallbacks: 'Scoring calls that failed, by reason; the other signal or the fallback tier decided.',
  UpstreamErrors: 'Failed upstream attempts per tier (5xx, 429, connect errors, deadlines).',
  TimeToFirstTokenMs: 'Time to the first byte of the answer per tier, milliseconds.',
  EndToEndLatencyMs: 'End-to-end request latency per tier, milliseconds.',
  Proxy5xx: 'Responses with status 500 or above sent to clients.',
};

type MetricType = 'gauge' | 'counter' | 'histogram';

/** Samples of one family, collected before anything is written. */
interface Family {
  readonly type: MetricType;
  readonly samples: string[];
}

/** Renders every series in the text format, one contiguous group per family. */
export function renderPrometheus(m: ProxyMetrics): string {
  const families = new Map<string, Family>();
  const family = (name: string, type: MetricType): string[] => {
    let f = families.get(name);
    if (!f) {
      f = { type, samples: [] };
      families.set(name, f);
    }
    return f.samples;
  };
  for (const t of m.tiers) family(t.pendingId.name, 'gauge').push(`${t.pendingId.name}${labels(t.pendingId)} ${t.pending}`);
  const counters = m.counters();
  counters.sort((a, b) => a.id.name.localeCompare(b.id.name));
  for (const c of counters) counter(c, family(c.id.name, 'counter'));
  for (const s of m.sums()) summed(s, family(s.id.name, 'counter'));
  for (const d of m.distributions()) histogram(d, family(d.id.name, 'histogram'));
  const out: string[] = [];
  for (const [name, f] of families) {
    out.push(`# HELP ${name} ${helpText(name)}`, `# TYPE ${name} ${f.type}`, ...f.samples);
  }
  return `${out.join('\n')}\n`;
}

/** HELP text of a family, escaped as the format requires (backslash and line feed). */
function helpText(name: string): string {
  const text = (HELP as Record<string, string | undefined>)[name] ?? `llm-tier-router proxy metric ${name}.`;
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function counter(c: Counter, out: string[]): void {
  out.push(`${c.id.name}${labels(c.id)} ${c.total}`);
}

function summed(s: Summed, out: string[]): void {
  out.push(`${s.id.name}${labels(s.id)} ${num(s.total)}`);
}

function histogram(d: Distribution, out: string[]): void {
  let cum = 0;
  for (let i = 0; i < d.buckets.length; i++) {
    cum += d.bucketCounts[i];
    out.push(`${d.id.name}_bucket${labels(d.id, `le="${d.buckets[i]}"`)} ${cum}`);
  }
  out.push(`${d.id.name}_bucket${labels(d.id, 'le="+Inf"')} ${d.count}`);
  out.push(`${d.id.name}_sum${labels(d.id)} ${num(d.sum)}`);
  out.push(`${d.id.name}_count${labels(d.id)} ${d.count}`);
}

function labels(id: MetricId, extra?: string): string {
  const parts = id.dimensions.map((d) => `${d.Name}="${d.Value.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e9) / 1e9);
}
