/**
 * The routers route-eval compares: baselines, the proxy's own scoring (its code, config and routing
 * data), and routers trained on the set and evaluated leave-group-out. Scores: higher means the
 * prompt deserves the large tier more.
 */
import { combine, type DecisionPolicy, type Signal } from '../../proxy/src/routing/decide';
import { normalize, type Centroids } from '../../proxy/src/routing/embedding';
import { TEXT_FEATURES, textFeatures } from '../../proxy/src/routing/features';
import { buildCentroids, centroidZ, exemplarMargin, promptScore, type RoutingModelSpec } from '../../proxy/src/routing/model';
import { scoreText, type ScoringBackends } from '../../proxy/src/routing/router';
import type { Labels } from './metrics';
import { fitLogistic, gainTarget, predictLogit, takeRows, groupFolds, type Learner, type Logistic, type Matrix } from './train';

/** Everything known about the prompts of a set. */
export interface Signals {
  readonly texts: readonly string[];
  /** Whether the math/code heuristic fires (and the policy is not `off`). */
  readonly hits: readonly boolean[];
  /** Embedding vectors, when an embedding source was given. */
  readonly vectors?: readonly ArrayLike<number>[];
  /** Scorer ratings 0-10 (NaN: none), when a scorer was given. */
  readonly ratings?: Float64Array;
}

/** Score given to prompts the heuristic forces to the large tier: above every real score. */
export const FORCED_SCORE = 2;

/**
 * The proxy's score of every prompt without the fast path (the score the threshold is compared
 * with): the learned model or centroid logistic, weighted with the rating when there is one; forced
 * prompts get {@link FORCED_SCORE}; a prompt neither signal scores gets NaN.
 */
export function proxyScores(sig: Signals, centroids: Centroids | undefined, policy: DecisionPolicy, embeddingScale: number): Float64Array {
  return Float64Array.from(sig.texts, (text, i) => {
    const emb: Signal = sig.vectors && centroids ? { ok: true, value: promptScore(text, sig.vectors[i], centroids, embeddingScale) } : { ok: false, why: 'none' };
    const r = sig.ratings?.[i];
    const rating: Signal = r !== undefined && !Number.isNaN(r) ? { ok: true, value: r / 10 } : { ok: false, why: 'none' };
    const d = combine(policy, emb, rating, sig.hits[i]);
    if (d.reason === 'keyword' && d.score === undefined) return FORCED_SCORE;
    return d.score ?? NaN;
  });
}

/**
 * The tier the proxy would choose for every prompt under `policy`, through its own `scoreText`
 * (keyword force, fast path, weighting, fallbacks) with the recorded signals as back-ends.
 */
export async function proxyTiers(sig: Signals, centroids: Centroids | undefined, policy: DecisionPolicy, embeddingScale: number): Promise<Int32Array> {
  const out = new Int32Array(sig.texts.length);
  let i = 0;
  const backends: ScoringBackends = {
    embed: () => (sig.vectors ? Promise.resolve(sig.vectors[i]) : Promise.reject(new Error('no embedding'))),
    rate: () => {
      const r = sig.ratings?.[i];
      return r !== undefined && !Number.isNaN(r) ? Promise.resolve({ ok: true, rating: r, from: 'content' as const }) : Promise.reject(new Error('no rating'));
    },
    centroids: () => centroids,
  };
  const opts = { embeddingTimeoutMs: 60_000, scorerTimeoutMs: 60_000, embeddingScale };
  for (i = 0; i < sig.texts.length; i++) {
    const d = await scoreText(sig.texts[i], sig.hits[i], policy, backends, opts);
    out[i] = d.tier;
  }
  return out;
}

/** Exemplar centroids under one embedding model and where the exemplars fall on their margin. */
export interface Geometry {
  readonly centroids: Centroids;
  readonly margin: { readonly mean: number; readonly sd: number };
}

/** The geometry of exemplar vectors; with `model`, the centroids carry the learned scorer as the proxy builds it. */
export function geometryOf(simple: readonly ArrayLike<number>[], complex: readonly ArrayLike<number>[], model?: RoutingModelSpec): Geometry {
  const centroids = buildCentroids(simple, complex, model);
  return { centroids, margin: exemplarMargin(simple, complex, centroids) };
}

/** Feature names of the learned model: the text features, plus `centroid_z` when vectors exist. */
export function featureNames(withEmbedding: boolean): string[] {
  return withEmbedding ? [...TEXT_FEATURES, 'centroid_z'] : [...TEXT_FEATURES];
}

/** The feature matrix of a set, in {@link featureNames} order (no `centroid_z` without vectors). */
export function featureMatrix(sig: Signals, geometry: Geometry | undefined): Matrix {
  const withEmb = !!(sig.vectors && geometry);
  const cols = featureNames(withEmb).length;
  const n = sig.texts.length;
  const data = new Float64Array(n * cols);
  for (let r = 0; r < n; r++) {
    textFeatures(sig.texts[r], data, r * cols);
    if (withEmb) data[r * cols + cols - 1] = centroidZ(sig.vectors![r], geometry!.centroids, geometry!.margin);
  }
  return { rows: n, cols, data };
}

/** Regularization strengths tried by the inner cross-validation. */
export const LAMBDA_GRID = [1e-4, 1e-3, 1e-2, 1e-1] as const;

/** Hyper-parameters of the logistic router: regularization and which columns it reads. */
export interface LogisticChoice {
  readonly lambda: number;
  /** Name of the column set (`text` or `text+centroid`). */
  readonly features: string;
  readonly cols: readonly number[];
}

/**
 * Logistic regression whose regularization and column set are both hyper-parameters: the inner
 * cross-validation of each held-out fold chooses among `columnSets` inside its training groups.
 */
export function logisticLearner(x: Matrix, labels: Labels, columnSets: Readonly<Record<string, readonly number[]>>): Learner<LogisticChoice> {
  const y = gainTarget(labels);
  const subs = new Map(Object.entries(columnSets).map(([name, cols]) => [name, selectCols(x, cols)]));
  const grid: LogisticChoice[] = [];
  for (const [features, cols] of Object.entries(columnSets)) for (const lambda of LAMBDA_GRID) grid.push({ lambda, features, cols });
  return {
    grid,
    fit(train, h) {
      const sub = subs.get(h.features)!;
      const m = fitLogistic(takeRows(sub, train), Array.from(train, (i) => y[i]), h.lambda);
      return (test) => predictLogit(m, takeRows(sub, test));
    },
  };
}

/**
 * Rescales a fitted model so its probability spreads over (0, 1) like a percentile of the training
 * prompts (a logistic distribution matched to the logits' mean and spread): a threshold t then sends
 * about 1 - t of prompts like those to the large tier, and the score mixes with the rating on a
 * comparable scale. The ranking, and so APGR, is unchanged.
 */
export function spreadLikePercentiles(m: Logistic, x: Matrix): Logistic {
  const logits = predictLogit(m, x);
  let mean = 0;
  for (const v of logits) mean += v;
  mean /= logits.length;
  let sq = 0;
  for (const v of logits) sq += (v - mean) ** 2;
  const sd = Math.sqrt(sq / logits.length) || 1;
  const a = Math.PI / (Math.sqrt(3) * sd);
  return { ...m, weights: m.weights.map((w) => w * a), intercept: a * (m.intercept - mean) };
}

/** Columns `cols` of a matrix. */
export function selectCols(x: Matrix, cols: readonly number[]): Matrix {
  const data = new Float64Array(x.rows * cols.length);
  for (let r = 0; r < x.rows; r++) for (let j = 0; j < cols.length; j++) data[r * cols.length + j] = x.data[r * x.cols + cols[j]];
  return { rows: x.rows, cols: cols.length, data };
}

/** Centroid router with exemplars taken from the training prompts (complex: the large tier did better). */
export function dataCentroidLearner(vectors: readonly ArrayLike<number>[], labels: Labels): Learner<number> {
  const norm = vectors.map((v) => normalize(v));
  return {
    grid: [1],
    fit(train) {
      const dim = norm[0].length;
      const pos = new Float64Array(dim);
      const neg = new Float64Array(dim);
      let np = 0;
      let nn = 0;
      for (const i of train) {
        const target = labels.large[i] > labels.small[i] ? pos : neg;
        const v = norm[i];
        for (let q = 0; q < dim; q++) target[q] += v[q];
        if (target === pos) np++;
        else nn++;
      }
      for (let q = 0; q < dim; q++) {
        pos[q] /= Math.max(1, np);
        neg[q] /= Math.max(1, nn);
      }
      return (test) =>
        Float64Array.from(test, (i) => {
          let dp = 0;
          let dn = 0;
          for (let q = 0; q < dim; q++) {
            dp += (norm[i][q] - pos[q]) ** 2;
            dn += (norm[i][q] - neg[q]) ** 2;
          }
          return Math.sqrt(dn) - Math.sqrt(dp);
        });
    },
  };
}

/**
 * k-nearest-neighbours over training prompts (cosine): the mean gain of the large tier among the
 * k most similar. At most `pool` training prompts are searched (a seeded sample) to bound the time.
 */
export function knnLearner(vectors: readonly ArrayLike<number>[], labels: Labels, k = 50, pool = 4000): Learner<number> {
  const norm = vectors.map((v) => Float32Array.from(normalize(v)));
  return {
    grid: [k],
    fit(train) {
      let tr = Array.from(train);
      if (tr.length > pool) {
        const f = groupFolds(tr.map(String), Math.ceil(tr.length / pool), 3);
        tr = tr.filter((_, j) => f[j] === 0);
      }
      const dim = norm[0].length;
      return (test) =>
        Float64Array.from(test, (i) => {
          const sims = new Float64Array(tr.length);
          const a = norm[i];
          for (let j = 0; j < tr.length; j++) {
            const b = norm[tr[j]];
            let s = 0;
            for (let q = 0; q < dim; q++) s += a[q] * b[q];
            sims[j] = s;
          }
          // The k largest similarities: a bounded min-heap would do; a partial selection is enough here.
          const kk = Math.min(k, tr.length);
          const top = new Float64Array(kk).fill(-Infinity);
          const at = new Int32Array(kk);
          let minPos = 0;
          for (let j = 0; j < tr.length; j++) {
            if (sims[j] <= top[minPos]) continue;
            top[minPos] = sims[j];
            at[minPos] = j;
            for (let q = 0; q < kk; q++) if (top[q] < top[minPos]) minPos = q;
          }
          let g = 0;
          for (let q = 0; q < kk; q++) g += labels.large[tr[at[q]]] - labels.small[tr[at[q]]];
          return g / kk;
        });
    },
  };
}

/** A fitted logistic model as the weights document the proxy reads. */
export function toModelSpec(m: Logistic, features: readonly string[], trainedWith: Record<string, unknown>): RoutingModelSpec {
  const r = (x: number) => Number(x.toPrecision(6));
  return {
    features: [...features],
    mean: Array.from(m.mean, r),
    scale: Array.from(m.scale, r),
    weights: Array.from(m.weights, r),
    intercept: r(m.intercept),
    trainedWith,
  };
}
