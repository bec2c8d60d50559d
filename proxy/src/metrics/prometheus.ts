/** Prometheus text exposition of the proxy's metrics: the same series as CloudWatch. */
import type { Counter, Distribution, MetricId, ProxyMetrics, Summed } from './registry';

/** Renders every series in the text format (version 0.0.4). */
export function renderPrometheus(m: ProxyMetrics): string {
  const out: string[] = [];
  const typed = new Set<string>();
  const type = (name: string, t: string) => {
    if (typed.has(name)) return;
    typed.add(name);
    out.push(`# TYPE ${name} ${t}`);
  };
  for (const t of m.tiers) {
    type(t.pendingId.name, 'gauge');
    out.push(`${t.pendingId.name}${labels(t.pendingId)} ${t.pending}`);
  }
  const counters = m.counters();
  counters.sort((a, b) => a.id.name.localeCompare(b.id.name));
  for (const c of counters) counter(c, type, out);
  for (const s of m.sums()) summed(s, type, out);
  for (const d of m.distributions()) histogram(d, type, out);
  return `${out.join('\n')}\n`;
}

function counter(c: Counter, type: (n: string, t: string) => void, out: string[]): void {
  type(c.id.name, 'counter');
  out.push(`${c.id.name}${labels(c.id)} ${c.total}`);
}

function summed(s: Summed, type: (n: string, t: string) => void, out: string[]): void {
  type(s.id.name, 'counter');
  out.push(`${s.id.name}${labels(s.id)} ${num(s.total)}`);
}

function histogram(d: Distribution, type: (n: string, t: string) => void, out: string[]): void {
  type(d.id.name, 'histogram');
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
