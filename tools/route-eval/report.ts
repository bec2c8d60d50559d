/** Text tables and the curve chart of route-eval. */
import type { EChartsCoreOption } from 'echarts';
import { fullCurve, oracleCurve, type CurvePoint, type Interval, type Labels, type RouterFigures } from './metrics';

/** One row of the results table. */
export interface Row {
  readonly name: string;
  /** `held-out` (leave-group-out), `in-dist` (trained and scored on the same prompts) or `fixed` (nothing learned from the set). */
  readonly how: 'held-out' | 'in-dist' | 'fixed' | 'baseline';
  readonly figures: RouterFigures;
  readonly interval?: Interval;
  /** Scores, for the chart (absent for the oracle and the random router). */
  readonly scores?: ArrayLike<number>;
}

const pct = (v: number | undefined) => (v === undefined ? '   n/a' : `${(100 * v).toFixed(1).padStart(5)}%`);

/** The results table, one router a line. */
export function table(rows: readonly Row[]): string {
  const head = `${'router'.padEnd(34)} ${'how'.padEnd(9)} ${'APGR'.padStart(6)}  ${'95% interval'.padEnd(15)} ${'50% gap'.padStart(7)} ${'80% gap'.padStart(7)} ${'95% large'.padStart(9)}`;
  const lines = rows.map((r) => {
    const ci = r.interval ? `[${r.interval.lo.toFixed(3)}, ${r.interval.hi.toFixed(3)}]` : '';
    return `${r.name.padEnd(34)} ${r.how.padEnd(9)} ${r.figures.apgr.toFixed(3).padStart(6)}  ${ci.padEnd(15)} ${pct(r.figures.share50).padStart(7)} ${pct(r.figures.share80).padStart(7)} ${pct(r.figures.share95Large).padStart(9)}`;
  });
  return [head, ...lines].join('\n');
}

/** Thins a full curve to at most `max` points for drawing. */
function thin(points: readonly CurvePoint[], max = 200): [number, number][] {
  const step = Math.max(1, Math.floor(points.length / max));
  const out: [number, number][] = [];
  for (let i = 0; i < points.length; i += step) out.push([points[i].share, points[i].quality]);
  const last = points[points.length - 1];
  out.push([last.share, last.quality]);
  return out;
}

/** ECharts option of quality versus share to the large tier for every row with scores, plus the oracle and both tiers. */
export function curveChart(rows: readonly Row[], labels: Labels, title: string): EChartsCoreOption {
  const n = labels.small.length;
  let s = 0;
  let l = 0;
  for (let i = 0; i < n; i++) {
    s += labels.small[i];
    l += labels.large[i];
  }
  const series: object[] = rows
    .filter((r) => r.scores)
    .map((r) => ({ type: 'line', name: `${r.name} (${r.how}, APGR ${r.figures.apgr.toFixed(3)})`, showSymbol: false, data: thin(fullCurve(r.scores!, labels)) }));
  series.push({ type: 'line', name: 'oracle (RouteLLM optimal)', showSymbol: false, lineStyle: { type: 'dotted' }, data: oracleCurve(labels, 100).map((p) => [p.share, p.quality]) });
  series.push({ type: 'line', name: 'random', showSymbol: false, lineStyle: { type: 'dashed' }, data: [[0, s / n], [1, l / n]] });
  return {
    title: { text: title, left: 'center' },
    legend: { bottom: 0, left: 'center', width: '92%', type: 'plain', itemGap: 36 },
    grid: { left: 80, right: 30, top: 50, bottom: 120 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'value', name: 'share sent to the large tier', nameLocation: 'middle', nameGap: 28, min: 0, max: 1 },
    yAxis: { type: 'value', name: 'mean answer quality', nameLocation: 'middle', nameGap: 55, min: (v: { min: number }) => Math.floor(v.min * 50) / 50 },
    series,
  };
}

/** A histogram of scores in `bins` equal bins over [lo, hi], as text bars. */
export function histogram(scores: ArrayLike<number>, bins = 20, lo = 0, hi = 1): string {
  const counts = new Array<number>(bins).fill(0);
  let outside = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (!(v >= lo && v <= hi)) {
      outside++;
      continue;
    }
    counts[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))]++;
  }
  const max = Math.max(1, ...counts);
  const lines = counts.map((c, b) => {
    const a = lo + ((hi - lo) * b) / bins;
    return `  ${a.toFixed(2)}-${(a + (hi - lo) / bins).toFixed(2)} ${String(c).padStart(6)} ${'#'.repeat(Math.round((40 * c) / max))}`;
  });
  if (outside) lines.push(`  outside [${lo}, ${hi}] (forced by the heuristic or unscored): ${outside}`);
  return lines.join('\n');
}
