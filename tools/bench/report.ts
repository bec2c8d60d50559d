/** Pure aggregation, table and pass/fail logic of the benchmark. */

/**
 * What the benchmark measures: direct, nginx, the proxy bypassed and fully scored, and the same two
 * on a second Node runtime (proxy `B`, with `--alt-node`) for an A/B.
 */
export type TargetName = 'direct' | 'nginx' | 'bypass' | 'scored' | 'bypassB' | 'scoredB';

/** Every target in table order. */
export const TARGET_ORDER: readonly TargetName[] = ['direct', 'nginx', 'bypass', 'bypassB', 'scored', 'scoredB'];

/** Display names of the targets. */
export const TARGET_LABELS: Readonly<Record<TargetName, string>> = {
  direct: 'direct to simulator',
  nginx: 'nginx reverse proxy',
  bypass: 'proxy, routing bypassed',
  scored: 'proxy, full scoring',
  bypassB: 'proxy B, routing bypassed',
  scoredB: 'proxy B, full scoring',
};

/** One timed load run. */
export interface RunSample {
  readonly target: TargetName;
  readonly concurrency: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Errors, timeouts and non-2xx answers. */
  readonly failed: number;
  /** CPU of the proxying process per request (absent for the direct target). */
  readonly cpuMsPerReq?: number;
  /** The kernel's part of {@link cpuMsPerReq} (system time: syscalls, TCP on loopback). */
  readonly systemMsPerReq?: number;
  /** Peak RSS of the proxying process during this run. */
  readonly peakRssMiB?: number;
  /** How busy the load core was (upstreams + load generator), percent of one core. */
  readonly loadCorePct?: number;
}

/** One c=1 time-to-first-byte probe. */
export interface TtfbSample {
  readonly target: TargetName;
  readonly medianMs: number;
}

/** Medians over the rounds of one target at one concurrency. */
export interface SummaryRow {
  readonly target: TargetName;
  readonly concurrency: number;
  readonly rounds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Lowest and highest p99 of the rounds: how far one round's tail strays from the median. */
  readonly p99RangeMs: readonly [number, number];
  readonly addedP50Ms?: number;
  readonly addedP99Ms?: number;
  readonly cpuMsPerReq?: number;
  /** Median kernel CPU per request; user CPU is the rest of {@link cpuMsPerReq}. */
  readonly systemMsPerReq?: number;
  readonly cpuUsPerChunk?: number;
  /** CPU per request relative to nginx's at the same concurrency. */
  readonly cpuVsNginx?: number;
  /** Highest peak RSS seen over the rounds. */
  readonly peakRssMiB?: number;
  /** Median busy share of the load core; near 100 the upstreams, not the target, set the pace. */
  readonly loadCorePct?: number;
  readonly failed: number;
}

/** Time-to-first-byte medians. */
export interface TtfbRow {
  readonly target: TargetName;
  readonly medianMs: number;
  readonly addedMs?: number;
}

/** Median of a list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const optMedian = (xs: Array<number | undefined>): number | undefined => {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? median(v) : undefined;
};

/** Medians per target and concurrency, and differences against the direct and nginx targets. */
export function summarize(samples: readonly RunSample[], ttfb: readonly TtfbSample[], chunksPerStream: number): { rows: SummaryRow[]; ttfb: TtfbRow[] } {
  const order = TARGET_ORDER;
  const concurrencies = [...new Set(samples.map((s) => s.concurrency))].sort((a, b) => a - b);
  const base = new Map<string, { rps: number; p50Ms: number; p99Ms: number; cpu?: number }>();
  const rows: SummaryRow[] = [];
  for (const c of concurrencies) {
    for (const target of order) {
      const ss = samples.filter((s) => s.target === target && s.concurrency === c);
      if (ss.length === 0) continue;
      const row = {
        target,
        concurrency: c,
        rounds: ss.length,
        rps: median(ss.map((s) => s.rps)),
        p50Ms: median(ss.map((s) => s.p50Ms)),
        p99Ms: median(ss.map((s) => s.p99Ms)),
        p99RangeMs: [Math.min(...ss.map((s) => s.p99Ms)), Math.max(...ss.map((s) => s.p99Ms))] as const,
        cpuMsPerReq: optMedian(ss.map((s) => s.cpuMsPerReq)),
        systemMsPerReq: optMedian(ss.map((s) => s.systemMsPerReq)),
        peakRssMiB: ss.some((s) => s.peakRssMiB !== undefined) ? Math.max(...ss.map((s) => s.peakRssMiB ?? 0)) : undefined,
        loadCorePct: optMedian(ss.map((s) => s.loadCorePct)),
        failed: ss.reduce((a, s) => a + s.failed, 0),
      };
      base.set(`${target}/${c}`, { rps: row.rps, p50Ms: row.p50Ms, p99Ms: row.p99Ms, cpu: row.cpuMsPerReq });
      rows.push(row as SummaryRow);
    }
  }
  const withDiffs = rows.map((r): SummaryRow => {
    const direct = base.get(`direct/${r.concurrency}`);
    const nginx = base.get(`nginx/${r.concurrency}`);
    return {
      ...r,
      addedP50Ms: direct && r.target !== 'direct' ? r.p50Ms - direct.p50Ms : undefined,
      addedP99Ms: direct && r.target !== 'direct' ? r.p99Ms - direct.p99Ms : undefined,
      cpuUsPerChunk: r.cpuMsPerReq !== undefined ? (r.cpuMsPerReq * 1000) / chunksPerStream : undefined,
      cpuVsNginx: nginx?.cpu && r.cpuMsPerReq !== undefined && r.target !== 'nginx' && r.target !== 'direct' ? r.cpuMsPerReq / nginx.cpu : undefined,
    };
  });
  const directTtfb = median(ttfb.filter((t) => t.target === 'direct').map((t) => t.medianMs));
  const ttfbRows: TtfbRow[] = order
    .filter((t) => ttfb.some((s) => s.target === t))
    .map((target) => {
      const m = median(ttfb.filter((s) => s.target === target).map((s) => s.medianMs));
      return { target, medianMs: m, addedMs: target !== 'direct' && Number.isFinite(directTtfb) ? m - directTtfb : undefined };
    });
  return { rows: withDiffs, ttfb: ttfbRows };
}

/**
 * The proxy's performance targets, each checked at c=64 with the default paced streams (20 chunks
 * 5 ms apart) except peak RSS, checked at c=256.
 */
export const LIMITS = {
  /** Bypassed CPU per request relative to nginx's. */
  bypassCpuVsNginx: 1.5,
  bypassAddedP99MsAtC64: 3,
  bypassAddedTtfbMs: 0.5,
  /** Fully scored requests one core can route: 1000 / CPU ms per request. */
  scoredMinRpsPerCore: 1200,
  peakRssMiB: 150,
  /** Concurrency of the peak RSS check (the highest measured when it was not). */
  peakRssConcurrency: 256,
} as const;

/** The concurrency of every check but peak RSS. */
const CHECK_C = 64;

/** One verdict line. */
export interface Check {
  readonly name: string;
  readonly measured: string;
  readonly status: 'PASS' | 'MISS' | 'SKIP';
}

const f = (x: number | undefined, digits = 2): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));

/** Compares the summary with {@link LIMITS}. A target that was not measured is SKIP, never PASS. */
export function evaluate(rows: readonly SummaryRow[], ttfb: readonly TtfbRow[]): Check[] {
  const checks: Check[] = [];
  const get = (t: TargetName, c: number) => rows.find((r) => r.target === t && r.concurrency === c);
  const cs = [...new Set(rows.map((r) => r.concurrency))].sort((a, b) => a - b);
  const judge = (ok: boolean | undefined): Check['status'] => (ok === undefined ? 'SKIP' : ok ? 'PASS' : 'MISS');

  const ratio = get('bypass', CHECK_C)?.cpuVsNginx;
  const others = cs.filter((c) => c !== CHECK_C && get('bypass', c)?.cpuVsNginx !== undefined).map((c) => `c=${c}: ${f(get('bypass', c)?.cpuVsNginx)}x`);
  checks.push({
    name: `bypassed: proxy CPU/request at c=${CHECK_C} <= ${LIMITS.bypassCpuVsNginx}x nginx`,
    measured: `${f(ratio)}x${ratio !== undefined ? ` (${f(get('bypass', CHECK_C)?.cpuMsPerReq, 3)} vs ${f(get('nginx', CHECK_C)?.cpuMsPerReq, 3)} ms)` : ''}${others.length ? `; ${others.join(', ')}` : ''}`,
    status: judge(ratio === undefined ? undefined : ratio <= LIMITS.bypassCpuVsNginx),
  });

  const b64 = get('bypass', CHECK_C)?.addedP99Ms;
  // The rounds' spread and nginx's own added p99 show how much of the figure is the machine's.
  const range = (t: TargetName, label: string): string | undefined => {
    const r = get(t, CHECK_C)?.p99RangeMs;
    return r ? `${label} ${f(r[0])}-${f(r[1])}` : undefined;
  };
  const spread = [range('direct', 'direct'), range('bypass', 'bypassed')].filter((x) => x !== undefined);
  const n64 = get('nginx', CHECK_C)?.addedP99Ms;
  const context = [spread.length ? `rounds' p99 ms: ${spread.join(', ')}` : undefined, n64 !== undefined ? `nginx +p99 ${f(n64)} ms` : undefined].filter(Boolean);
  checks.push({
    name: `bypassed: added p99 at c=${CHECK_C} <= ${LIMITS.bypassAddedP99MsAtC64} ms`,
    measured: `${f(b64)} ms${b64 !== undefined && context.length ? ` (${context.join('; ')})` : ''}`,
    status: judge(b64 === undefined ? undefined : b64 <= LIMITS.bypassAddedP99MsAtC64),
  });

  const bt = ttfb.find((t) => t.target === 'bypass')?.addedMs;
  checks.push({
    name: `bypassed: added time to first byte at c=1 <= ${LIMITS.bypassAddedTtfbMs} ms`,
    measured: `${f(bt, 3)} ms`,
    status: judge(bt === undefined ? undefined : bt <= LIMITS.bypassAddedTtfbMs),
  });

  const scoredCpu = get('scored', CHECK_C)?.cpuMsPerReq;
  const perCore = scoredCpu !== undefined && scoredCpu > 0 ? 1000 / scoredCpu : undefined;
  checks.push({
    name: `full scoring: >= ${LIMITS.scoredMinRpsPerCore.toLocaleString('en-US')} routed req/s per core at c=${CHECK_C}`,
    measured: perCore === undefined ? 'n/a' : `${f(perCore, 0)} req/s per core (${f(scoredCpu, 3)} CPU ms per request)`,
    status: judge(perCore === undefined ? undefined : perCore >= LIMITS.scoredMinRpsPerCore),
  });

  const rssC = cs.includes(LIMITS.peakRssConcurrency) ? LIMITS.peakRssConcurrency : cs[cs.length - 1];
  const rss = (['bypass', 'scored'] as const).map((t) => (rssC === undefined ? undefined : get(t, rssC)?.peakRssMiB)).filter((x): x is number => x !== undefined);
  checks.push({
    name: `proxy peak RSS at c=${rssC ?? LIMITS.peakRssConcurrency} <= ${LIMITS.peakRssMiB} MiB`,
    measured: rss.length ? `${f(Math.max(...rss), 1)} MiB` : 'n/a',
    status: judge(rss.length ? Math.max(...rss) <= LIMITS.peakRssMiB : undefined),
  });
  return checks;
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
}

/** The printed result table. */
export function formatReport(rows: readonly SummaryRow[], ttfb: readonly TtfbRow[], checks: readonly Check[]): string {
  const header = ['target', 'c', 'req/s', 'p50 ms', 'p99 ms', '+p50 ms', '+p99 ms', 'CPU ms/req', 'CPU us/chunk', 'CPU vs nginx', 'peak RSS MiB', 'load core %', 'failed'];
  const body = rows.map((r) => [
    TARGET_LABELS[r.target],
    String(r.concurrency),
    f(r.rps, 0),
    f(r.p50Ms),
    f(r.p99Ms),
    r.addedP50Ms === undefined ? '-' : f(r.addedP50Ms),
    r.addedP99Ms === undefined ? '-' : f(r.addedP99Ms),
    r.cpuMsPerReq === undefined ? '-' : f(r.cpuMsPerReq, 3),
    r.cpuUsPerChunk === undefined ? '-' : f(r.cpuUsPerChunk, 1),
    r.cpuVsNginx === undefined ? '-' : `${f(r.cpuVsNginx)}x`,
    r.peakRssMiB === undefined ? '-' : f(r.peakRssMiB, 1),
    r.loadCorePct === undefined ? '-' : f(r.loadCorePct, 0),
    String(r.failed),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const lines = [pad(header, widths), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map((b) => pad(b, widths))];
  const tHeader = ['target', 'TTFB c=1 median ms', 'added ms'];
  const tBody = ttfb.map((t) => [TARGET_LABELS[t.target], f(t.medianMs, 3), t.addedMs === undefined ? '-' : f(t.addedMs, 3)]);
  const tw = tHeader.map((h, i) => Math.max(h.length, ...tBody.map((b) => b[i].length)));
  lines.push('', pad(tHeader, tw), tw.map((w) => '-'.repeat(w)).join('  '), ...tBody.map((b) => pad(b, tw)));
  // Where the CPU goes: the same reads and writes cost the same kernel time in every proxy.
  const split = rows.filter((r) => r.cpuMsPerReq !== undefined && r.systemMsPerReq !== undefined);
  if (split.length) {
    const nginxUser = (c: number): number | undefined => {
      const n = rows.find((r) => r.target === 'nginx' && r.concurrency === c);
      return n?.cpuMsPerReq !== undefined && n.systemMsPerReq !== undefined ? n.cpuMsPerReq - n.systemMsPerReq : undefined;
    };
    const sHeader = ['CPU per request', 'c', 'user ms', 'system ms', 'user vs nginx'];
    const sBody = split.map((r) => {
      const user = r.cpuMsPerReq! - r.systemMsPerReq!;
      const nu = nginxUser(r.concurrency);
      return [TARGET_LABELS[r.target], String(r.concurrency), f(user, 3), f(r.systemMsPerReq, 3), r.target !== 'nginx' && nu ? `${f(user / nu, 1)}x` : '-'];
    });
    const sw = sHeader.map((h, i) => Math.max(h.length, ...sBody.map((b) => b[i].length)));
    lines.push('', pad(sHeader, sw), sw.map((w) => '-'.repeat(w)).join('  '), ...sBody.map((b) => pad(b, sw)));
  }
  lines.push('', 'Targets:');
  const nw = Math.max(...checks.map((c) => c.name.length));
  for (const c of checks) lines.push(`  ${c.status.padEnd(4)}  ${c.name.padEnd(nw)}  ${c.measured}`);
  return lines.join('\n');
}
