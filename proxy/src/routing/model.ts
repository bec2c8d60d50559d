/**
 * The learned routing model: a logistic model over text features the proxy computes itself and one
 * embedding-derived feature, trained offline by route-eval and shipped as JSON weights inside the
 * routing data file. Applying it costs a few microseconds. Pure.
 *
 * What transfers between embedding models: the text features are the same for every model; the
 * embedding feature `centroid_z` is the prompt's position between the simple and complex exemplar
 * centroids, standardized by where the exemplars themselves fall under the deployed embedding model
 * (computed at start-up), so weights learned with one embedding model are meaningful, not exact,
 * under another. Retrain against the deployed embeddings endpoint for exact weights.
 */
import { centroid, distance, embeddingScore, normalize, type Centroids, type Vector } from './embedding';
import { TEXT_FEATURES, textFeatures } from './features';
import { routingModelProblems, type RoutingModelSpec } from '../../../contracts/routing-data';

export type { RoutingModelSpec };

/** Centroid margin `d_simple - d_complex` of a normalized vector (positive: nearer the complex centroid). */
export function centroidMargin(v: Vector, c: Centroids): number {
  return distance(v, c.simple) - distance(v, c.complex);
}

/**
 * Centroids of the exemplar vectors and, when a weights document is given, the learned scorer with
 * the exemplars' own margin statistics under this embedding model.
 */
export function buildCentroids(simple: readonly Vector[], complex: readonly Vector[], spec?: RoutingModelSpec): Centroids {
  const c = { simple: centroid(simple), complex: centroid(complex) };
  if (!spec) return c;
  const model = new CompiledModel(spec);
  return { ...c, learned: { margin: exemplarMargin(simple, complex, c), usesEmbedding: model.usesEmbedding, score: (text, z) => model.score(text, z) } };
}

/** Mean and standard deviation (at least 1e-6) of the exemplars' own centroid margins. */
export function exemplarMargin(simple: readonly Vector[], complex: readonly Vector[], c: Centroids): { mean: number; sd: number } {
  const ms = [...simple, ...complex].map((v) => centroidMargin(normalize(v), c));
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const sd = Math.max(1e-6, Math.sqrt(ms.reduce((a, b) => a + (b - mean) ** 2, 0) / ms.length));
  return { mean, sd };
}

/** The standardized centroid margin of a raw embedding vector. */
export function centroidZ(vector: Vector, c: Centroids, margin: { readonly mean: number; readonly sd: number }): number {
  if (vector.length !== c.simple.length) throw new Error(`embedding has ${vector.length} dimensions, centroids ${c.simple.length}`);
  return (centroidMargin(normalize(vector), c) - margin.mean) / margin.sd;
}

/**
 * The embedding-side score the decision uses: the learned model when the routing data carries one,
 * else the centroid logistic `1 / (1 + exp(scale * (d_complex - d_simple)))`.
 */
export function promptScore(text: string, vector: Vector, c: Centroids, scale: number): number {
  if (c.learned) {
    if (vector.length !== c.simple.length) throw new Error(`embedding has ${vector.length} dimensions, centroids ${c.simple.length}`);
    return c.learned.score(text, c.learned.usesEmbedding ? centroidZ(vector, c, c.learned.margin) : undefined);
  }
  return embeddingScore(vector, c, scale);
}

const N_TEXT = TEXT_FEATURES.length;

/** A weights document compiled for scoring: standardization folded into the weights. */
export class CompiledModel {
  /** Weight per text feature (0 when unused). */
  private readonly textW = new Float64Array(N_TEXT);
  private readonly centroidW: number;
  private readonly centroidMean: number;
  private readonly bias: number;
  private readonly buf = new Float64Array(N_TEXT);

  constructor(readonly spec: RoutingModelSpec) {
    const problems = routingModelProblems(spec);
    if (problems.length) throw new Error(problems.join('\n'));
    let bias = spec.intercept;
    let cw = 0;
    spec.features.forEach((f, i) => {
      const w = spec.weights[i] / spec.scale[i];
      bias -= w * spec.mean[i];
      const t = (TEXT_FEATURES as readonly string[]).indexOf(f);
      if (t >= 0) this.textW[t] = w;
      else cw = w;
    });
    this.centroidW = cw;
    this.bias = bias;
    const k = spec.features.indexOf('centroid_z');
    this.centroidMean = k >= 0 ? spec.mean[k] : 0;
  }

  /** True when the model reads the embedding. */
  get usesEmbedding(): boolean {
    return this.centroidW !== 0;
  }

  /**
   * Probability-like score in (0, 1). `centroidZ` is the standardized centroid margin; undefined
   * (no embedding) uses the training mean, so the text features decide.
   */
  score(text: string, centroidZ: number | undefined): number {
    textFeatures(text, this.buf, 0);
    let z = this.bias;
    const w = this.textW;
    const x = this.buf;
    for (let i = 0; i < N_TEXT; i++) z += w[i] * x[i];
    if (this.centroidW !== 0) z += this.centroidW * (centroidZ ?? this.centroidMean);
    return 1 / (1 + Math.exp(-z));
  }
}
