/**
 * One chart per run: traffic with refused and dropped requests on top, then one panel per fleet with
 * its instances (serving, booting, draining, desired) and its queue (waiting, running).
 */
import type { EChartsCoreOption } from 'echarts';
import type { SimOutcome } from './engine';
import type { RunSummary } from './report';
import { localTime } from './cron';

/** Most points per series; longer runs are averaged (rates) or maxed (instances) per bucket. */
const MAX_POINTS = 1500;

const COLORS = { serving: '#2f7ed8', booting: '#f7a35c', draining: '#b5b5b5', desired: '#333333', waiting: '#d62728', running: '#2ca02c', traffic: '#5470c6', refused: '#ee6666', dropped: '#8b0000', held: '#9a60b4' };

function bucketed(series: ArrayLike<number>, k: number, how: 'mean' | 'max' | 'sum'): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < series.length; i += k) {
    let acc = how === 'max' ? -Infinity : 0;
    let n = 0;
    for (let j = i; j < Math.min(series.length, i + k); j++) {
      acc = how === 'max' ? Math.max(acc, series[j]) : acc + series[j];
      n++;
    }
    out.push([i / 60, how === 'mean' ? acc / n : acc]);
  }
  return out;
}

/** The ECharts option of a run. */
export function runChart(summary: RunSummary, outcome: SimOutcome): EChartsCoreOption {
  const minutes = outcome.arrivalsPerMinute.length;
  const k = Math.max(1, Math.ceil(minutes / MAX_POINTS));
  const hours = minutes / 60;
  const panels = outcome.fleets.length + 1;
  const top = 70;
  const panelHeight = 150;
  const gap = 48;
  const grid = Array.from({ length: panels }, (_, i) => ({ left: 70, right: 70, top: top + i * (panelHeight + gap), height: panelHeight }));
  const tick = hours <= 30 ? 3 : hours <= 80 ? 6 : 24;
  const label = (h: number) => {
    const t = localTime(outcome.startMs + h * 3600_000, summary.timeZone);
    const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][t.weekday];
    return `${t.hour === 0 || h === 0 ? `${day} ` : ''}${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;
  };
  const xAxis = grid.map((_, i) => ({
    type: 'value', gridIndex: i, min: 0, max: hours, interval: tick,
    axisLabel: { formatter: label, fontSize: 10 },
    splitLine: { show: true, lineStyle: { color: '#eeeeee' } },
  }));
  const yAxis: object[] = [];
  const series: object[] = [];
  const title: object[] = [{
    text: `${summary.environment ?? 'environment'} · ${summary.trace} · ${summary.hours} h · ${summary.total.usd.toFixed(0)} USD (all-large ${summary.allLarge.usd.toFixed(0)} USD)`,
    left: 'center', top: 8, textStyle: { fontSize: 15 },
  }];

  // Panel 0: traffic, refused, dropped.
  const reqPerSecond = Array.from(outcome.arrivalsPerMinute, (v) => v / 60);
  const refused = new Float32Array(minutes);
  const dropped = new Float32Array(minutes);
  for (const f of outcome.fleets) {
    if (f.kind !== 'tier') continue;
    for (let m = 0; m < minutes; m++) {
      refused[m] += f.timeline.refused[m];
      dropped[m] += f.timeline.dropped[m];
    }
  }
  yAxis.push({ type: 'value', gridIndex: 0 });
  yAxis.push({ type: 'value', gridIndex: 0, position: 'right', splitLine: { show: false } });
  title.push({ text: 'traffic: requests/s (left), refused and dropped per minute (right)', left: 72, top: grid[0].top - 20, textStyle: { fontSize: 12 } });
  series.push({ name: 'requests/s', type: 'line', xAxisIndex: 0, yAxisIndex: 0, showSymbol: false, lineStyle: { width: 1 }, color: COLORS.traffic, areaStyle: { opacity: 0.15 }, data: bucketed(reqPerSecond, k, 'mean') });
  series.push({ name: 'refused/min', type: 'line', xAxisIndex: 0, yAxisIndex: 1, showSymbol: false, lineStyle: { width: 1 }, color: COLORS.refused, data: bucketed(refused, k, 'sum') });
  series.push({ name: 'dropped/min', type: 'line', xAxisIndex: 0, yAxisIndex: 1, showSymbol: false, lineStyle: { width: 1.5 }, color: COLORS.dropped, data: bucketed(dropped, k, 'sum') });

  outcome.fleets.forEach((f, i) => {
    const g = i + 1;
    const tl = f.timeline;
    const left = yAxis.length;
    yAxis.push({ type: 'value', gridIndex: g, minInterval: 1 });
    yAxis.push({ type: 'value', gridIndex: g, position: 'right', splitLine: { show: false } });
    const s = summary.fleets[i];
    title.push({
      text: `${f.name} (${f.instanceType}, ${s.minSize}-${s.maxSize}): ${s.instanceHours.toFixed(1)} inst-h, ${s.usd.toFixed(0)} USD, churn ${s.churn}, wait p95 ${s.waitP95} s — instances (left), requests (right)`,
      left: 72, top: grid[g].top - 20, textStyle: { fontSize: 12 },
    });
    const area = (name: string, data: ArrayLike<number>, color: string) => ({
      name, type: 'line', step: 'end', stack: `inst${g}`, xAxisIndex: g, yAxisIndex: left, showSymbol: false,
      lineStyle: { width: 0 }, areaStyle: { opacity: 0.55 }, color, data: bucketed(data, k, 'max'),
    });
    series.push(area('serving', tl.serving, COLORS.serving));
    series.push(area('booting', tl.booting, COLORS.booting));
    series.push(area('draining', tl.draining, COLORS.draining));
    series.push({ name: 'desired', type: 'line', step: 'end', xAxisIndex: g, yAxisIndex: left, showSymbol: false, lineStyle: { width: 1, type: 'dashed' }, color: COLORS.desired, data: bucketed(tl.desired, k, 'max') });
    series.push({ name: 'running', type: 'line', xAxisIndex: g, yAxisIndex: left + 1, showSymbol: false, lineStyle: { width: 1 }, color: COLORS.running, data: bucketed(tl.running, k, 'mean') });
    series.push({ name: 'waiting', type: 'line', xAxisIndex: g, yAxisIndex: left + 1, showSymbol: false, lineStyle: { width: 1.2 }, color: COLORS.waiting, data: bucketed(tl.waiting, k, 'mean') });
    if (f.held > 0) series.push({ name: 'held', type: 'line', xAxisIndex: g, yAxisIndex: left + 1, showSymbol: false, lineStyle: { width: 1 }, color: COLORS.held, data: bucketed(tl.held, k, 'mean') });
  });

  const names = ['requests/s', 'refused/min', 'dropped/min', 'serving', 'booting', 'draining', 'desired', 'running', 'waiting'];
  if (outcome.fleets.some((f) => f.held > 0)) names.push('held');
  return {
    title,
    legend: { data: names, top: 32, textStyle: { fontSize: 11 } },
    grid,
    xAxis,
    yAxis,
    series,
  };
}

/** Pixel size of a run chart with `fleets` panels below the traffic panel. */
export function chartSize(fleets: number): { width: number; height: number } {
  return { width: 1200, height: 70 + (fleets + 1) * 198 + 30 };
}
