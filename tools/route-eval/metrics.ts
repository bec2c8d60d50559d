/**
 * The evaluation maths of route-eval: quality versus share-to-large curves, APGR as RouteLLM defines
 * it, the share needed for a quality target, baselines, bootstrap intervals and calibration. Pure.
 *
 * APGR follows lm-sys/RouteLLM `routellm/evals/benchmarks.py` and `evaluate.py`: the router's
 * scores are cut at their quantiles into `bins` equally sized bins (11 thresholds for 10 bins); at
 * threshold i every prompt scoring >= it goes to the large tier (the last threshold uses >, so no
 * prompt does); quality is the mean of the chosen tier's labels; the area under quality versus
 * share-to-large (trapezoid rule) less the small tier's area, over the large tier's area less the
 * small tier's, over the share range the points span.
 */
import { rng } from '../random';

export { rng };

/** One point of a curve. */
export interface CurvePoint {
  /** Share of prompts sent to the large tier. */
  readonly share: number;
  /** Mean quality of the answers at that share. */
  readonly quality: number;
  /** Score threshold that gives the point (prompts scoring >= it go large). */
  readonly threshold: number;
}

/** Per-prompt quality labels of the two tiers. */
export interface Labels {
  readonly small: ArrayLike<number>;
  readonly large: ArrayLike<number>;
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length ? s / xs.length : NaN;
}

/** Quantile with linear interpolation between order statistics (numpy's and pandas' default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** RouteLLM's curve: `bins + 1` points at the score quantiles (see the module comment). */
export function routeLlmCurve(scores: ArrayLike<number>, labels: Labels, bins = 10): CurvePoint[] {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const sorted = order.map((i) => scores[i]);
  const points: CurvePoint[] = [];
  for (let b = 0; b <= bins; b++) {
    const t = quantile(sorted, b / bins);
    const strict = b === bins;
    let large = 0;
    let q = 0;
    for (let i = 0; i < n; i++) {
      const s = scores[i];
      const sel = strict ? s > t : s >= t;
      if (sel) {
        large++;
        q += labels.large[i];
      } else q += labels.small[i];
    }
    points.push({ share: large / n, quality: q / n, threshold: t });
  }
  return points.sort((a, b) => a.share - b.share);
}

/** Trapezoid area under quality over share, and the share range the points span. */
function area(points: readonly CurvePoint[]): { auc: number; span: number } {
  let auc = 0;
  for (let i = 1; i < points.length; i++) {
    auc += ((points[i].quality + points[i - 1].quality) / 2) * (points[i].share - points[i - 1].share);
  }
  return { auc, span: points.length ? points[points.length - 1].share - points[0].share : 0 };
}

/** APGR of a curve given the two tiers' mean qualities. */
export function apgrOfCurve(points: readonly CurvePoint[], smallQuality: number, largeQuality: number): number {
  const { auc, span } = area(points);
  const weak = smallQuality * span;
  const strong = largeQuality * span;
  return (auc - weak) / (strong - weak);
}

/** APGR of a router's scores (higher score: more deserving of the large tier). */
export function apgr(scores: ArrayLike<number>, labels: Labels, bins = 10): number {
  return apgrOfCurve(routeLlmCurve(scores, labels, bins), mean(labels.small), mean(labels.large));
}

/**
 * The full-resolution curve: one point per distinct score, from nothing sent large (share 0) to
 * everything (share 1). Prompts with equal scores move together.
 */
export function fullCurve(scores: ArrayLike<number>, labels: Labels): CurvePoint[] {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let q = 0;
  for (let i = 0; i < n; i++) q += labels.small[i];
  const points: CurvePoint[] = [{ share: 0, quality: q / n, threshold: Infinity }];
  let i = 0;
  while (i < n) {
    const t = scores[order[i]];
    while (i < n && scores[order[i]] === t) {
      q += labels.large[order[i]] - labels.small[order[i]];
      i++;
    }
    points.push({ share: i / n, quality: q / n, threshold: t });
  }
  return points;
}

/**
 * The smallest share to large at which the curve reaches `target` quality, interpolating linearly
 * between points (prompts of one tie are taken in proportion); undefined when it never does.
 */
export function shareForQuality(points: readonly CurvePoint[], target: number): number | undefined {
  if (points.length === 0) return undefined;
  if (points[0].quality >= target) return points[0].share;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (b.quality >= target) {
      if (b.quality === a.quality) return b.share;
      return a.share + ((target - a.quality) / (b.quality - a.quality)) * (b.share - a.share);
    }
  }
  return undefined;
}

/** Figures of one router on one set. */
export interface RouterFigures {
  readonly apgr: number;
  /** Share to large for 50% of the small-to-large quality gap. */
  readonly share50: number | undefined;
  /** Share to large for 80% of the gap. */
  readonly share80: number | undefined;
  /** Share to large for 95% of the large tier's quality. */
  readonly share95Large: number | undefined;
}

/** Quality targets of the figures. */
export function targets(labels: Labels): { small: number; large: number; gap50: number; gap80: number; large95: number } {
  const small = mean(labels.small);
  const large = mean(labels.large);
  return { small, large, gap50: small + 0.5 * (large - small), gap80: small + 0.8 * (large - small), large95: 0.95 * large };
}

/** APGR and the three shares of a router's scores. */
export function figures(scores: ArrayLike<number>, labels: Labels, bins = 10): RouterFigures {
  const t = targets(labels);
  const curve = fullCurve(scores, labels);
  return {
    apgr: apgr(scores, labels, bins),
    share50: shareForQuality(curve, t.gap50),
    share80: shareForQuality(curve, t.gap80),
    share95Large: shareForQuality(curve, t.large95),
  };
}

/**
 * The oracle as RouteLLM draws it (`get_optimal_accuracy`): at share x, the small tier's quality plus
 * the gain of min(x, share of prompts the large tier answers better), never less. Sampled at the
 * same `bins + 1` shares as a router.
 */
export function oracleCurve(labels: Labels, bins = 10): CurvePoint[] {
  const n = labels.small.length;
  let gains = 0;
  let bonus = 0;
  for (let i = 0; i < n; i++) {
    const g = labels.large[i] - labels.small[i];
    if (g > 0) {
      gains++;
      bonus += g;
    }
  }
  const small = mean(labels.small);
  const out: CurvePoint[] = [];
  for (let b = 0; b <= bins; b++) {
    const x = b / bins;
    const taken = Math.min(x * n, gains);
    out.push({ share: x, quality: small + (gains ? (bonus * taken) / gains : 0) / n, threshold: NaN });
  }
  return out;
}

/** Oracle figures: APGR of {@link oracleCurve}; shares on the exact oracle (gains first). */
export function oracleFigures(labels: Labels, bins = 10): RouterFigures {
  const t = targets(labels);
  const n = labels.small.length;
  const gain = Array.from({ length: n }, (_, i) => labels.large[i] - labels.small[i]);
  const curve = fullCurve(gain, labels);
  return {
    apgr: apgrOfCurve(oracleCurve(labels, bins), t.small, t.large),
    share50: shareForQuality(curve, t.gap50),
    share80: shareForQuality(curve, t.gap80),
    share95Large: shareForQuality(curve, t.large95),
  };
}

/** The random router: mean figures over `iters` draws of uniform scores. */
export function randomFigures(labels: Labels, iters = 10, seed = 0, bins = 10): RouterFigures {
  const next = rng(seed);
  const n = labels.small.length;
  const acc = { apgr: 0, share50: 0, share80: 0, share95Large: 0 };
  for (let k = 0; k < iters; k++) {
    const s = Float64Array.from({ length: n }, () => next());
    const f = figures(s, labels, bins);
    acc.apgr += f.apgr;
    acc.share50 += f.share50 ?? NaN;
    acc.share80 += f.share80 ?? NaN;
    acc.share95Large += f.share95Large ?? NaN;
  }
  const m = (v: number) => (Number.isNaN(v) ? undefined : v / iters);
  return { apgr: acc.apgr / iters, share50: m(acc.share50), share80: m(acc.share80), share95Large: m(acc.share95Large) };
}

/** A 95% percentile interval. */
export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

/**
 * Percentile bootstrap 95% interval of a statistic of (scores, labels): `iters` resamples with
 * replacement, of prompts, or of whole groups when `groups` is given (prompts of one topic are not
 * independent, so resampling groups gives the honest, wider interval for unseen topics).
 */
export function bootstrap(
  stat: (idx: Int32Array) => number,
  n: number,
  opts: { iters?: number; seed?: number; groups?: readonly string[] } = {},
): Interval {
  const iters = opts.iters ?? 1000;
  const next = rng(opts.seed ?? 1);
  const values: number[] = [];
  let members: number[][] | undefined;
  if (opts.groups) {
    const by = new Map<string, number[]>();
    opts.groups.forEach((g, i) => {
      const l = by.get(g);
      if (l) l.push(i);
      else by.set(g, [i]);
    });
    members = [...by.values()];
  }
  for (let k = 0; k < iters; k++) {
    let idx: Int32Array;
    if (members) {
      const parts: number[] = [];
      for (let j = 0; j < members.length; j++) parts.push(...members[Math.floor(next() * members.length)]);
      idx = Int32Array.from(parts);
    } else {
      idx = new Int32Array(n);
      for (let j = 0; j < n; j++) idx[j] = Math.floor(next() * n);
    }
    const v = stat(idx);
    if (Number.isFinite(v)) values.push(v);
  }
  values.sort((a, b) => a - b);
  return { lo: quantile(values, 0.025), hi: quantile(values, 0.975) };
}

/** Bootstrap interval of APGR for fixed scores. */
export function apgrInterval(scores: ArrayLike<number>, labels: Labels, opts: { iters?: number; seed?: number; groups?: readonly string[]; bins?: number } = {}): Interval {
  return bootstrap(
    (idx) => {
      const s = new Float64Array(idx.length);
      const sm = new Float64Array(idx.length);
      const lg = new Float64Array(idx.length);
      for (let j = 0; j < idx.length; j++) {
        s[j] = scores[idx[j]];
        sm[j] = labels.small[idx[j]];
        lg[j] = labels.large[idx[j]];
      }
      return apgr(s, { small: sm, large: lg }, opts.bins ?? 10);
    },
    scores.length,
    opts,
  );
}
