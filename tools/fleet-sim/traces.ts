/**
 * Traffic for the simulator: built-in shapes (a request rate per second of local time) or a CSV of
 * request arrivals with their token counts.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { ConfigError, formatValue } from '../../contracts/validation';
import { localTime } from './cron';
import { rng } from '../random';

export { rng };

/** Names of the built-in shapes. */
export const TRACE_SHAPES = ['steady', 'diurnal', 'burst', 'flash', 'night-to-zero'] as const;
/** A built-in shape. */
export type TraceShape = (typeof TRACE_SHAPES)[number];

/** Requests that arrive in one second with the same size; `tier` set when the trace names it. */
export interface RequestGroup {
  readonly count: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
  readonly tier?: string;
}

/** A trace: a rate to sample from, or the recorded requests themselves. */
export type Trace =
  | { readonly kind: 'rate'; readonly name: string; readonly rate: (second: number) => number }
  | { readonly kind: 'requests'; readonly name: string; readonly durationSeconds: number; readonly at: (second: number) => readonly RequestGroup[] };

/** Parameters of a built-in shape. */
export interface ShapeOptions {
  /** Peak request rate, requests per second. */
  readonly peak: number;
  /** Epoch ms of simulated second 0. */
  readonly startMs: number;
  /** Time zone of the shape's business hours. */
  readonly timeZone: string;
  /** `burst` / `flash`: second the event starts. */
  readonly eventAt: number;
  /** `burst`: seconds the burst lasts. */
  readonly eventSeconds: number;
  /** `burst` / `flash`: rate outside the event, as a fraction of the peak. */
  readonly baseFraction: number;
}

/** Smooth step from 0 to 1 as x goes from a to b. */
function ramp(x: number, a: number, b: number): number {
  if (x <= a) return 0;
  if (x >= b) return 1;
  return 0.5 - 0.5 * Math.cos(((x - a) / (b - a)) * Math.PI);
}

/**
 * The fraction of the peak at a local time: business hours at the peak on weekdays (ramping up from
 * 06:00 to 09:00 and down from 17:00 to 21:00), 8% at night, weekends at 35% of a weekday.
 */
export function diurnalFraction(hour: number, weekday: number): number {
  const night = 0.08;
  const up = ramp(hour, 6, 9);
  const down = ramp(hour, 17, 21);
  const day = night + (1 - night) * up * (1 - down);
  return weekday === 0 || weekday === 6 ? day * 0.35 : day;
}

/** Weekday business hours only: the peak from 09:00 to 18:00 with one-hour ramps, nothing else. */
export function nightToZeroFraction(hour: number, weekday: number): number {
  if (weekday === 0 || weekday === 6) return 0;
  return ramp(hour, 7, 9) * (1 - ramp(hour, 18, 20));
}

/** A built-in shape as a rate function. */
export function shapeTrace(shape: TraceShape, o: ShapeOptions): Trace {
  const local = (second: number) => {
    const t = localTime(o.startMs + second * 1000, o.timeZone);
    return { hour: t.hour + t.minute / 60 + (second % 60) / 3600, weekday: t.weekday };
  };
  // Local time changes slowly: one lookup per simulated minute.
  const perMinute = (f: (hour: number, weekday: number) => number) => {
    let minute = -1;
    let value = 0;
    return (second: number) => {
      const m = Math.floor(second / 60);
      if (m !== minute) {
        minute = m;
        const { hour, weekday } = local(second);
        value = f(hour, weekday);
      }
      return value * o.peak;
    };
  };
  switch (shape) {
    case 'steady':
      return { kind: 'rate', name: shape, rate: () => o.peak };
    case 'diurnal':
      return { kind: 'rate', name: shape, rate: perMinute(diurnalFraction) };
    case 'night-to-zero':
      return { kind: 'rate', name: shape, rate: perMinute(nightToZeroFraction) };
    case 'burst':
      return {
        kind: 'rate',
        name: shape,
        rate: (s) => (s >= o.eventAt && s < o.eventAt + o.eventSeconds ? o.peak : o.peak * o.baseFraction),
      };
    case 'flash':
      // A flash crowd: the rate jumps to the peak, then decays back with a 30-minute time constant.
      return {
        kind: 'rate',
        name: shape,
        rate: (s) => (s < o.eventAt ? o.peak * o.baseFraction : o.peak * (o.baseFraction + (1 - o.baseFraction) * Math.exp(-(s - o.eventAt) / 1800))),
      };
  }
}

/**
 * A CSV of request arrivals, one row per request, with a header: `time` (seconds from the start of
 * the trace, or an ISO-8601 timestamp), `prompt_tokens`, `output_tokens`, and optionally `tier` to
 * pin a request to a tier. Requests of the same second are grouped by size.
 */
export function csvTrace(file: string): Trace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([`--trace: got "${file}", expected a readable CSV file (${(e as NodeJS.ErrnoException).code ?? 'read error'})`], 'fleet-sim options');
  }
  let rows: Array<Record<string, string>>;
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true });
  } catch (e) {
    throw new ConfigError([`${file}: got text that is not CSV (${(e as Error).message}), expected a header row and one row per request`], 'CSV trace');
  }
  const problems: string[] = [];
  const header = rows.length ? Object.keys(rows[0]) : [];
  for (const col of ['time', 'prompt_tokens', 'output_tokens']) {
    if (rows.length && !header.includes(col)) problems.push(`${file}: got columns ${header.join(', ')}, expected a "${col}" column`);
  }
  if (rows.length === 0) problems.push(`${file}: got no requests, expected one row per request`);
  if (problems.length) throw new ConfigError(problems, 'CSV trace');
  let origin: number | undefined;
  const parsed: Array<{ second: number; prompt: number; output: number; tier?: string }> = [];
  rows.forEach((r, i) => {
    const line = i + 2;
    let second: number;
    if (/^\d+(\.\d+)?$/.test(r.time)) second = Number(r.time);
    else {
      const ms = Date.parse(r.time);
      if (Number.isNaN(ms)) {
        problems.push(`${file}:${line} time: got ${formatValue(r.time)}, expected seconds from the start or an ISO-8601 timestamp`);
        return;
      }
      origin ??= ms;
      second = (ms - origin) / 1000;
    }
    const prompt = Number(r.prompt_tokens);
    const output = Number(r.output_tokens);
    if (!Number.isInteger(prompt) || prompt < 0) problems.push(`${file}:${line} prompt_tokens: got ${formatValue(r.prompt_tokens)}, expected an integer >= 0`);
    if (!Number.isInteger(output) || output < 1) problems.push(`${file}:${line} output_tokens: got ${formatValue(r.output_tokens)}, expected an integer >= 1`);
    if (second < 0) problems.push(`${file}:${line} time: got ${r.time}, expected a time at or after the first request`);
    parsed.push({ second: Math.floor(second), prompt, output, tier: r.tier ? r.tier : undefined });
  });
  if (problems.length) throw new ConfigError(problems.slice(0, 20).concat(problems.length > 20 ? [`... and ${problems.length - 20} more`] : []), 'CSV trace');
  const bySecond = new Map<number, RequestGroup[]>();
  for (const p of parsed) {
    const list = bySecond.get(p.second) ?? [];
    // Sizes within ~10% share a group: enough for the queue model, few groups per second.
    const key = (g: RequestGroup) => g.tier === p.tier && Math.abs(Math.log(g.outputTokens / p.output)) < 0.1 && Math.abs(g.promptTokens - p.prompt) <= p.prompt * 0.1 + 16;
    const found = list.findIndex(key);
    if (found >= 0) {
      const g = list[found];
      list[found] = {
        count: g.count + 1,
        promptTokens: (g.promptTokens * g.count + p.prompt) / (g.count + 1),
        outputTokens: (g.outputTokens * g.count + p.output) / (g.count + 1),
        tier: g.tier,
      };
    } else {
      list.push({ count: 1, promptTokens: p.prompt, outputTokens: p.output, tier: p.tier });
    }
    bySecond.set(p.second, list);
  }
  const duration = Math.max(...parsed.map((p) => p.second)) + 1;
  return { kind: 'requests', name: file, durationSeconds: duration, at: (s) => bySecond.get(s) ?? [] };
}

/** A standard normal deviate (Box-Muller). */
function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** A Poisson count with mean `mean` (normal approximation above 30). */
export function poisson(mean: number, random: () => number): number {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(random)));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

/** A binomial count of `n` trials with probability `p` (normal approximation for large n). */
export function binomial(n: number, p: number, random: () => number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const variance = n * p * (1 - p);
  if (variance > 25) return Math.min(n, Math.max(0, Math.round(n * p + Math.sqrt(variance) * normal(random))));
  let k = 0;
  for (let i = 0; i < n; i++) if (random() < p) k++;
  return k;
}

/** The standard normal cumulative distribution (Abramowitz-Stegun 7.1.26 erf, error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

function normalQuantile(p: number): number {
  // Bisection on the CDF: called a handful of times per run.
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Output lengths as `buckets` equally likely sizes of a lognormal distribution with the given mean
 * and coefficient of variation: each size is the mean of its quantile slice, so the sizes average
 * to the mean exactly.
 */
export function lognormalBuckets(mean: number, cv: number, buckets: number): number[] {
  if (cv <= 0 || buckets <= 1) return Array.from({ length: Math.max(1, buckets) }, () => mean);
  const s = Math.sqrt(Math.log(1 + cv * cv));
  const out: number[] = [];
  for (let i = 0; i < buckets; i++) {
    const za = i === 0 ? -Infinity : normalQuantile(i / buckets);
    const zb = i === buckets - 1 ? Infinity : normalQuantile((i + 1) / buckets);
    const cdf = (z: number) => (z === -Infinity ? 0 : z === Infinity ? 1 : normalCdf(z));
    out.push(mean * (cdf(zb - s) - cdf(za - s)) * buckets);
  }
  return out;
}

/** Regularized incomplete beta function I_x(a, b), by Simpson integration of the density. */
export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const density = (u: number) => (u <= 0 || u >= 1 ? 0 : Math.exp((a - 1) * Math.log(u) + (b - 1) * Math.log(1 - u)));
  const integrate = (lo: number, hi: number) => {
    const n = 2000;
    const h = (hi - lo) / n;
    let sum = density(lo + 1e-12) + density(hi - 1e-12);
    for (let i = 1; i < n; i++) sum += density(lo + i * h) * (i % 2 ? 4 : 2);
    return (sum * h) / 3;
  };
  return integrate(0, x) / integrate(0, 1);
}
