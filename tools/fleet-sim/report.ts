/**
 * What a run produced, for people (a terminal table) and scripts (a JSON summary): per fleet
 * instance-hours and dollars, churn, requests served / held / refused / dropped, queue-wait
 * percentiles, against an all-large-tier fleet sized to serve the same traffic.
 */
import type { FleetOutcome, SimOutcome } from './engine';
import type { PreparedRun } from './run';
import type { SimModel } from './model';
import { localTime } from './cron';

/** One fleet's figures. */
export interface FleetSummary {
  readonly fleet: string;
  readonly instanceType: string;
  readonly minSize: number;
  readonly maxSize: number;
  readonly bootSeconds: number;
  readonly instanceHours: number;
  readonly usd: number;
  readonly peakInstances: number;
  readonly launches: number;
  readonly churn: number;
  /** Tiers: requests routed here; router: requests scored. */
  readonly requests: number;
  readonly served: number;
  readonly held: number;
  readonly refused: number;
  readonly dropped: number;
  readonly spilledOut: number;
  readonly noCapacity: number;
  readonly prewarmRequests: number;
  /** Seconds from arrival to a running slot; whole seconds (0 means under a second). */
  readonly waitP50: number;
  readonly waitP95: number;
  readonly waitP99: number;
}

/** The all-large comparison. */
export interface AllLargeSummary {
  readonly instanceType: string;
  readonly instanceHours: number;
  readonly usd: number;
  readonly peakInstances: number;
  /** How it was sized. */
  readonly method: string;
}

/** A run's summary (the `--json` output). */
export interface RunSummary {
  readonly environment?: string;
  readonly trace: string;
  readonly hours: number;
  readonly start: string;
  readonly timeZone: string;
  readonly peakRate?: number;
  readonly maxRate: number;
  readonly requests: number;
  readonly fleets: readonly FleetSummary[];
  readonly total: { readonly instanceHours: number; readonly usd: number; readonly churn: number; readonly refused: number; readonly dropped: number };
  readonly allLarge: AllLargeSummary;
  /** 1 - routed fleet cost / all-large cost. */
  readonly savings: number;
  readonly scalingActivities: number;
  readonly assumptions: readonly string[];
}

/** Share of the large tier's full-slot throughput an all-large fleet is sized to (15% headroom). */
export const ALL_LARGE_UTILIZATION = 0.85;

/** The whole second at or under which `q` of the histogram's requests fall. */
export function percentile(hist: Uint32Array, q: number): number {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i];
  if (total === 0) return 0;
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= q * total) return i;
  }
  return hist.length - 1;
}

/**
 * An all-large fleet for the same traffic, re-sized every minute with no boot delay to the large
 * tier's full-slot throughput at 85% utilization: a lower bound on what serving everything from the
 * large tier costs (no router fleet needed).
 */
export function allLargeFleet(model: SimModel, outcome: SimOutcome): AllLargeSummary {
  const large = model.fleets.filter((f) => f.kind === 'tier').at(-1);
  if (!large) throw new Error('no tier');
  const seqs = large.servers[0].maxNumSeqs;
  const perInstance = (seqs / outcome.largeTierSecondsPerRequest) * ALL_LARGE_UTILIZATION;
  let instanceMinutes = 0;
  let peak = 0;
  for (let m = 0; m < outcome.arrivalsPerMinute.length; m++) {
    const rate = outcome.arrivalsPerMinute[m] / 60;
    const n = Math.ceil(rate / perInstance - 1e-9);
    instanceMinutes += n;
    peak = Math.max(peak, n);
  }
  const hours = instanceMinutes / 60;
  return {
    instanceType: large.instanceType,
    instanceHours: hours,
    usd: hours * large.usdPerHour,
    peakInstances: peak,
    method: `${large.instanceType} at ${(perInstance * 3600).toFixed(0)} requests/h each (85% of full-slot throughput), re-sized every minute with no boot delay`,
  };
}

/** The summary of a run. */
export function summarize(model: SimModel, prepared: PreparedRun, outcome: SimOutcome, environment?: string): RunSummary {
  const fleets = outcome.fleets.map((f: FleetOutcome): FleetSummary => {
    const fm = model.fleets.find((x) => x.name === f.name);
    const hours = f.instanceSeconds / 3600;
    return {
      fleet: f.name,
      instanceType: f.instanceType,
      minSize: fm?.minSize ?? 0,
      maxSize: fm?.maxSize ?? 0,
      bootSeconds: f.bootSeconds,
      instanceHours: hours,
      usd: hours * f.usdPerHour,
      peakInstances: f.peakInstances,
      launches: f.launches,
      churn: f.churn,
      requests: f.routed,
      served: f.served,
      held: f.held,
      refused: f.refused,
      dropped: f.dropped,
      spilledOut: f.spilledOut,
      noCapacity: f.noCapacity,
      prewarmRequests: f.prewarmRequests,
      waitP50: percentile(f.waitHistogram, 0.5),
      waitP95: percentile(f.waitHistogram, 0.95),
      waitP99: percentile(f.waitHistogram, 0.99),
    };
  });
  const total = {
    instanceHours: fleets.reduce((s, f) => s + f.instanceHours, 0),
    usd: fleets.reduce((s, f) => s + f.usd, 0),
    churn: fleets.reduce((s, f) => s + f.churn, 0),
    refused: fleets.reduce((s, f) => s + f.refused, 0),
    dropped: fleets.reduce((s, f) => s + f.dropped, 0),
  };
  const allLarge = allLargeFleet(model, outcome);
  let requests = 0;
  for (const v of outcome.arrivalsPerMinute) requests += v;
  return {
    environment,
    trace: prepared.traceName,
    hours: outcome.durationSeconds / 3600,
    start: new Date(outcome.startMs).toISOString(),
    timeZone: prepared.timeZone,
    peakRate: prepared.peak,
    maxRate: prepared.maxRate,
    requests,
    fleets,
    total,
    allLarge,
    savings: allLarge.usd > 0 ? 1 - total.usd / allLarge.usd : 0,
    scalingActivities: outcome.events.length,
    assumptions: prepared.assumptions,
  };
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function num(v: number, digits = 0): string {
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `Mon 2025-06-02 00:00` in a time zone. */
export function localLabel(epochMs: number, timeZone: string): string {
  const t = localTime(epochMs, timeZone);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][t.weekday];
  return `${day} ${t.year}-${String(t.month).padStart(2, '0')}-${String(t.day).padStart(2, '0')} ${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;
}

/** The terminal table. */
export function formatSummary(s: RunSummary): string {
  const lines: string[] = [];
  const rate = s.peakRate === undefined ? '' : `, peak ${s.peakRate.toFixed(2)} req/s (max ${s.maxRate.toFixed(2)})`;
  lines.push(`Fleet simulation${s.environment ? ` of ${s.environment}` : ''}: trace ${s.trace}, ${num(s.hours, s.hours % 1 ? 1 : 0)} h from ${localLabel(Date.parse(s.start), s.timeZone)} ${s.timeZone}${rate}, ${num(s.requests)} requests`);
  lines.push('');
  const cols: Array<[string, number, boolean]> = [
    ['fleet', 7, false], ['instance', 12, false], ['min-max', 7, true], ['boot', 6, true], ['inst-h', 8, true], ['USD', 9, true],
    ['peak', 5, true], ['launch', 7, true], ['churn', 6, true], ['requests', 10, true], ['served', 10, true], ['held', 7, true],
    ['refused', 8, true], ['dropped', 8, true], ['wait p50/p95/p99', 17, true],
  ];
  lines.push(cols.map(([h, w, r]) => pad(h, w, r)).join(' '));
  for (const f of s.fleets) {
    const row = [
      f.fleet, f.instanceType, `${f.minSize}-${f.maxSize}`, `${Math.round(f.bootSeconds / 6) / 10}m`, num(f.instanceHours, 1), num(f.usd, 2),
      String(f.peakInstances), String(f.launches), String(f.churn), num(f.requests), num(f.served), num(f.held),
      num(f.refused), num(f.dropped), `${f.waitP50}/${f.waitP95}/${f.waitP99} s`,
    ];
    lines.push(row.map((v, i) => pad(v, cols[i][1], cols[i][2])).join(' '));
  }
  lines.push(pad('total', 7) + ' ' + pad('', 12) + ' ' + pad('', 7) + ' ' + pad('', 6) + ' ' + pad(num(s.total.instanceHours, 1), 8, true) + ' ' + pad(num(s.total.usd, 2), 9, true)
    + ' ' + pad('', 5) + ' ' + pad('', 7) + ' ' + pad(String(s.total.churn), 6, true) + ' ' + pad('', 10) + ' ' + pad('', 10) + ' ' + pad('', 7)
    + ' ' + pad(num(s.total.refused), 8, true) + ' ' + pad(num(s.total.dropped), 8, true));
  lines.push('');
  lines.push(`All-large fleet for the same traffic: ${num(s.allLarge.instanceHours, 1)} instance-hours, ${num(s.allLarge.usd, 2)} USD, peak ${s.allLarge.peakInstances} (${s.allLarge.method}).`);
  lines.push(`Tiered fleet: ${num(s.total.usd, 2)} USD, ${s.savings >= 0 ? `${(s.savings * 100).toFixed(0)}% less` : `${(-s.savings * 100).toFixed(0)}% more`} than all-large; ${s.scalingActivities} scaling activities.`);
  lines.push('churn: instances terminated within 30 min of launch; dropped: accepted then failed (queued at vLLM past the proxy deadline, or cut off); refused: clean 503.');
  lines.push('');
  lines.push('Assumptions:');
  for (const a of s.assumptions) lines.push(`  - ${a}`);
  return lines.join('\n');
}
