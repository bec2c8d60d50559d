/**
 * Offline training of the routing model: L2-regularized logistic regression (Newton steps) over
 * standardized features, grouped folds, and nested leave-group-out evaluation in which every
 * hyper-parameter is chosen inside the training groups only. Pure.
 */
import { apgr, type Labels } from './metrics';

/** A dense row-major matrix. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/** Rows `idx` of a matrix. */
export function takeRows(m: Matrix, idx: ArrayLike<number>): Matrix {
  const out = new Float64Array(idx.length * m.cols);
  for (let r = 0; r < idx.length; r++) out.set(m.data.subarray(idx[r] * m.cols, (idx[r] + 1) * m.cols), r * m.cols);
  return { rows: idx.length, cols: m.cols, data: out };
}

/** Fitted logistic model on standardized features. */
export interface Logistic {
  readonly mean: Float64Array;
  readonly scale: Float64Array;
  readonly weights: Float64Array;
  readonly intercept: number;
}

/** Column means and standard deviations (a constant column gets scale 1). */
export function standardizer(x: Matrix): { mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(x.cols);
  const scale = new Float64Array(x.cols);
  for (let r = 0; r < x.rows; r++) for (let c = 0; c < x.cols; c++) mean[c] += x.data[r * x.cols + c];
  for (let c = 0; c < x.cols; c++) mean[c] /= Math.max(1, x.rows);
  for (let r = 0; r < x.rows; r++) for (let c = 0; c < x.cols; c++) scale[c] += (x.data[r * x.cols + c] - mean[c]) ** 2;
  for (let c = 0; c < x.cols; c++) {
    const sd = Math.sqrt(scale[c] / Math.max(1, x.rows));
    scale[c] = sd > 1e-9 ? sd : 1;
  }
  return { mean, scale };
}

/** Solves A x = b for a symmetric positive definite A (Cholesky); A is n*n row-major. */
function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

/**
 * Fits `p = sigmoid(b + w . z)` with z the standardized features, by Newton's method on the
 * cross-entropy to soft targets `y` in [0, 1] plus `lambda/2 * |w|^2` per row (the intercept is not
 * penalized).
 */
export function fitLogistic(x: Matrix, y: ArrayLike<number>, lambda: number, iters = 25): Logistic {
  const { mean, scale } = standardizer(x);
  const d = x.cols + 1; // last column: intercept
  const n = x.rows;
  const z = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < x.cols; c++) z[r * d + c] = (x.data[r * x.cols + c] - mean[c]) / scale[c];
    z[r * d + x.cols] = 1;
  }
  const w = new Float64Array(d);
  const h = new Float64Array(d * d);
  const g = new Float64Array(d);
  for (let it = 0; it < iters; it++) {
    h.fill(0);
    g.fill(0);
    for (let r = 0; r < n; r++) {
      let t = 0;
      const o = r * d;
      for (let c = 0; c < d; c++) t += w[c] * z[o + c];
      const p = 1 / (1 + Math.exp(-t));
      const e = y[r] - p;
      const v = Math.max(p * (1 - p), 1e-9);
      for (let i = 0; i < d; i++) {
        const zi = z[o + i];
        g[i] += e * zi;
        const vz = v * zi;
        for (let j = 0; j <= i; j++) h[i * d + j] += vz * z[o + j];
      }
    }
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) h[j * d + i] = h[i * d + j];
    const pen = lambda * n;
    for (let i = 0; i < d - 1; i++) {
      h[i * d + i] += pen;
      g[i] -= pen * w[i];
    }
    const step = solveSpd(h, g, d);
    let move = 0;
    for (let i = 0; i < d; i++) {
      w[i] += step[i];
      move = Math.max(move, Math.abs(step[i]));
    }
    if (move < 1e-7) break;
  }
  return { mean, scale, weights: w.slice(0, d - 1), intercept: w[d - 1] };
}

/** Scores rows with a fitted model (the linear part; monotone in the probability). */
export function predictLogit(m: Logistic, x: Matrix): Float64Array {
  const out = new Float64Array(x.rows);
  for (let r = 0; r < x.rows; r++) {
    let t = m.intercept;
    for (let c = 0; c < x.cols; c++) t += (m.weights[c] * (x.data[r * x.cols + c] - m.mean[c])) / m.scale[c];
    out[r] = t;
  }
  return out;
}

/** Training target: `(large - small + 1) / 2`, so the model ranks by the expected gain of the large tier. */
export function gainTarget(labels: Labels): Float64Array {
  return Float64Array.from({ length: labels.small.length }, (_, i) => (labels.large[i] - labels.small[i] + 1) / 2);
}

/** Distinct groups in first-seen order. */
export function groupNames(groups: readonly string[]): string[] {
  return [...new Set(groups)];
}

/**
 * Splits the distinct groups into `k` folds (round-robin after a seeded shuffle); returns the fold
 * index of every item.
 */
export function groupFolds(groups: readonly string[], k: number, seed = 7): Int32Array {
  const names = groupNames(groups);
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [names[i], names[j]] = [names[j], names[i]];
  }
  const foldOf = new Map(names.map((g, i) => [g, i % k]));
  return Int32Array.from(groups, (g) => foldOf.get(g)!);
}

/** One trainable router: fits on training rows, scores other rows. */
export interface Learner<H> {
  /** Hyper-parameter candidates (chosen by inner cross-validation). */
  readonly grid: readonly H[];
  /** Fits on rows `train` and returns a scorer of rows `test` (higher: large). */
  fit(train: Int32Array, h: H): (test: Int32Array) => Float64Array;
}

/** Result of a nested leave-group-out run. */
export interface HeldOut<H> {
  /** Out-of-fold score of every item. */
  readonly scores: Float64Array;
  /** Hyper-parameter chosen per outer fold. */
  readonly chosen: H[];
  /** Groups of each outer fold (the test check: none is ever in its own training rows). */
  readonly folds: { test: string[]; trainGroups: Set<string>; }[];
}

/**
 * Nested leave-group-out: each outer fold holds out groups (every group alone, or `outerFolds`
 * folds of groups), picks the hyper-parameter by APGR over `innerFolds` grouped folds of the
 * training groups only, fits on all training groups, and scores the held-out ones.
 */
export function nestedLeaveGroupOut<H>(
  groups: readonly string[],
  labels: Labels,
  learner: Learner<H>,
  opts: { outerFolds?: number; innerFolds?: number; seed?: number; onFold?: (i: number, n: number) => void } = {},
): HeldOut<H> {
  const n = groups.length;
  const names = groupNames(groups);
  const outer = opts.outerFolds && opts.outerFolds < names.length ? groupFolds(groups, opts.outerFolds, opts.seed) : Int32Array.from(groups, (g) => names.indexOf(g));
  const nOuter = Math.max(...outer) + 1;
  const scores = new Float64Array(n);
  const chosen: H[] = [];
  const folds: HeldOut<H>['folds'] = [];
  for (let f = 0; f < nOuter; f++) {
    const test = Int32Array.from(indices(n).filter((i) => outer[i] === f));
    const train = Int32Array.from(indices(n).filter((i) => outer[i] !== f));
    if (test.length === 0) continue;
    const trainGroups = new Set(Array.from(train, (i) => groups[i]));
    folds.push({ test: [...new Set(Array.from(test, (i) => groups[i]))], trainGroups });
    const h = learner.grid.length > 1 ? chooseInner(train, groups, labels, learner, opts.innerFolds ?? 4, (opts.seed ?? 7) + f + 1) : learner.grid[0];
    chosen.push(h);
    const s = learner.fit(train, h)(test);
    test.forEach((i, j) => (scores[i] = s[j]));
    opts.onFold?.(f + 1, nOuter);
  }
  return { scores, chosen, folds };
}

function indices(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Grouped cross-validation over the rows `train` only; the hyper-parameter with the best pooled APGR wins. */
export function chooseInner<H>(train: Int32Array, groups: readonly string[], labels: Labels, learner: Learner<H>, k: number, seed: number): H {
  const tg = Array.from(train, (i) => groups[i]);
  const inner = groupFolds(tg, Math.min(k, new Set(tg).size), seed);
  let best = learner.grid[0];
  let bestApgr = -Infinity;
  for (const h of learner.grid) {
    const s = new Float64Array(train.length);
    for (let f = 0; f < k; f++) {
      const te: number[] = [];
      const tr: number[] = [];
      for (let j = 0; j < train.length; j++) (inner[j] === f ? te : tr).push(j);
      if (te.length === 0) continue;
      const scorer = learner.fit(Int32Array.from(tr, (j) => train[j]), h);
      const out = scorer(Int32Array.from(te, (j) => train[j]));
      te.forEach((j, q) => (s[j] = out[q]));
    }
    const sub = { small: Array.from(train, (i) => labels.small[i]), large: Array.from(train, (i) => labels.large[i]) };
    const a = apgr(s, sub);
    if (a > bestApgr) {
      bestApgr = a;
      best = h;
    }
  }
  return best;
}
