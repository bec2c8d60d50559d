/** Embedding arithmetic: normalization, class centroids and the logistic score. Pure. */

/** A dense vector. */
export type Vector = ArrayLike<number>;

/** Simple and complex class centroids (means of the normalized exemplar vectors). */
export interface Centroids {
  /** Centroid of the simple exemplars. */
  readonly simple: Float64Array;
  /** Centroid of the complex exemplars. */
  readonly complex: Float64Array;
  /** The learned model of the routing data file, when it carries one (see model.ts). */
  readonly learned?: LearnedScorer;
}

/** A learned prompt model ready to score: its weights and where the exemplars fall on the margin. */
export interface LearnedScorer {
  /** Mean and standard deviation of the exemplars' own centroid margins under the deployed model. */
  readonly margin: { readonly mean: number; readonly sd: number };
  /** Whether the score reads the embedding (else the vector's margin need not be computed). */
  readonly usesEmbedding: boolean;
  /** Score in (0, 1) from the text and the standardized margin (undefined: no embedding). */
  score(text: string, centroidZ: number | undefined): number;
}

/** The vector scaled to unit length (a zero vector stays zero). */
export function normalize(v: Vector): Float64Array {
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += v[i] * v[i];
  const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * inv;
  return out;
}

/** Mean of the normalized vectors. */
export function centroid(vectors: readonly Vector[]): Float64Array {
  if (vectors.length === 0) throw new Error('centroid of no vectors');
  const dim = vectors[0].length;
  const out = new Float64Array(dim);
  for (const v of vectors) {
    if (v.length !== dim) throw new Error(`vectors of different sizes: ${v.length} and ${dim}`);
    const n = normalize(v);
    for (let i = 0; i < dim; i++) out[i] += n[i];
  }
  for (let i = 0; i < dim; i++) out[i] /= vectors.length;
  return out;
}

/** Euclidean distance. */
export function distance(a: Vector, b: Vector): number {
  let sq = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sq += d * d;
  }
  return Math.sqrt(sq);
}

/**
 * Embedding score in (0, 1): `1 / (1 + exp(scale * (d_complex - d_simple)))`, d being the distance of
 * the normalized prompt vector to each centroid. Closer to the complex centroid means above 0.5.
 */
export function embeddingScore(vector: Vector, c: Centroids, scale = 1): number {
  if (vector.length !== c.simple.length) throw new Error(`embedding has ${vector.length} dimensions, centroids ${c.simple.length}`);
  const v = normalize(vector);
  const dc = distance(v, c.complex);
  const ds = distance(v, c.simple);
  return 1 / (1 + Math.exp(scale * (dc - ds)));
}
