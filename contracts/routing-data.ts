/**
 * The routing data document: labelled exemplar prompts the proxy embeds at start-up, and optionally
 * the weights of the learned routing model (`route-eval --emit` writes one). Shared by the proxy,
 * which reads it, and the stack, which validates an environment's file at synth and inlines it.
 *
 * This module must stay free of aws-cdk-lib imports: the proxy bundles it.
 */
import { readFileSync } from 'node:fs';

/** Text features of the learned model, in the order the proxy computes them. */
export const TEXT_FEATURE_NAMES = [
  'log_chars',
  'log_words',
  'mean_word_len',
  'long_word_share',
  'digit_share',
  'log_numbers',
  'log_math_marks',
  'upper_share',
  'log_lines',
  'log_sentences',
  'question_marks',
  'log_pipes',
  'log_parens',
  'punct_share',
  'negation',
] as const;

/** Features derived from the embedding: the exemplar-standardized centroid margin. */
export const EMBEDDING_FEATURE_NAMES = ['centroid_z'] as const;

/** Every feature a model may use. */
export const MODEL_FEATURE_NAMES: readonly string[] = [...TEXT_FEATURE_NAMES, ...EMBEDDING_FEATURE_NAMES];

/** Weights of the learned model: `p = sigmoid(intercept + sum(weights[i] * (x[i] - mean[i]) / scale[i]))`. */
export interface RoutingModelSpec {
  /** Feature names, a subset of {@link MODEL_FEATURE_NAMES}. */
  readonly features: readonly string[];
  /** Training mean of each feature. */
  readonly mean: readonly number[];
  /** Training standard deviation of each feature (> 0). */
  readonly scale: readonly number[];
  /** Weight of each standardized feature. */
  readonly weights: readonly number[];
  /** Intercept. */
  readonly intercept: number;
  /** Free-form provenance: training set, embedding model, held-out figures. */
  readonly trainedWith?: Record<string, unknown>;
}

/** The whole document. */
export interface RoutingData {
  readonly simple: readonly string[];
  readonly complex: readonly string[];
  readonly model?: RoutingModelSpec;
}

/**
 * Largest routing data document the stack inlines into the proxy's config, bytes of JSON: the
 * config travels in the task definition's environment, and a task definition holds at most 64 KiB.
 */
export const MAX_INLINE_ROUTING_DATA_BYTES = 32 * 1024;

const show = (v: unknown, n = 40): string => (v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v)).slice(0, n));

/** One problem of a document: where, what was there, what was expected. */
export interface RoutingDataIssue {
  readonly path: readonly (string | number)[];
  readonly input: unknown;
  readonly expected: string;
}

/** A problem as a `path: got X, expected Y` line. */
export function formatRoutingDataIssue(i: RoutingDataIssue, prefix = ''): string {
  const p = [prefix, ...i.path].filter((x) => x !== '').join('.');
  return `${p || 'document'}: got ${i.input === null || i.input === undefined || typeof i.input !== 'object' ? show(i.input) : Array.isArray(i.input) && i.input.length === 0 ? '[]' : show(i.input)}, expected ${i.expected}`;
}

/** Problems of a weights document. */
export function routingModelIssues(doc: unknown, path: readonly (string | number)[] = ['model']): RoutingDataIssue[] {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return [{ path, input: doc, expected: 'an object with features, mean, scale, weights and intercept' }];
  const out: RoutingDataIssue[] = [];
  const d = doc as Record<string, unknown>;
  const feats = d.features;
  if (!Array.isArray(feats) || feats.length === 0 || !feats.every((f) => typeof f === 'string')) {
    return [{ path: [...path, 'features'], input: feats, expected: 'a non-empty list of feature names' }];
  }
  feats.forEach((f, i) => {
    if (!MODEL_FEATURE_NAMES.includes(f as string)) out.push({ path: [...path, 'features', i], input: f, expected: `one of ${MODEL_FEATURE_NAMES.join(', ')}` });
  });
  if (new Set(feats).size !== feats.length) out.push({ path: [...path, 'features'], input: feats, expected: 'each feature once' });
  for (const key of ['mean', 'scale', 'weights'] as const) {
    const v = d[key];
    if (!Array.isArray(v) || v.length !== feats.length || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      out.push({ path: [...path, key], input: v, expected: `${feats.length} finite numbers (one per feature)` });
    } else if (key === 'scale' && v.some((x) => (x as number) <= 0)) {
      out.push({ path: [...path, 'scale'], input: v, expected: 'standard deviations > 0' });
    }
  }
  if (typeof d.intercept !== 'number' || !Number.isFinite(d.intercept)) out.push({ path: [...path, 'intercept'], input: d.intercept, expected: 'a finite number' });
  return out;
}

/** Problems of a weights document as `path: got X, expected Y` lines. */
export function routingModelProblems(doc: unknown, path = 'model'): string[] {
  return routingModelIssues(doc, [path]).map((i) => formatRoutingDataIssue(i));
}

/** Problems of a routing data document. */
export function routingDataIssues(doc: unknown): RoutingDataIssue[] {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return [{ path: [], input: doc, expected: 'an object {"simple": [...], "complex": [...]}' }];
  const d = doc as Record<string, unknown>;
  const out: RoutingDataIssue[] = [];
  for (const key of ['simple', 'complex'] as const) {
    const v = d[key];
    if (!Array.isArray(v) || v.length === 0) out.push({ path: [key], input: v, expected: 'a non-empty list of prompts' });
    else {
      const bad = v.findIndex((s) => typeof s !== 'string' || s.trim().length === 0);
      if (bad >= 0) out.push({ path: [key, bad], input: v[bad], expected: 'a non-empty string' });
    }
  }
  for (const k of Object.keys(d)) {
    if (!['simple', 'complex', 'model'].includes(k)) out.push({ path: [k], input: d[k], expected: 'no such key (only simple, complex and model)' });
  }
  if (d.model !== undefined) out.push(...routingModelIssues(d.model, ['model']));
  return out;
}

/** Problems of a routing data document as `path: got X, expected Y` lines (paths inside the document). */
export function routingDataProblems(doc: unknown): string[] {
  return routingDataIssues(doc).map((i) => formatRoutingDataIssue(i));
}

/** What is wrong with a routing data file, as the `expected ...` half of a problem line; undefined when nothing. */
export function routingDataFileProblem(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return `a readable routing data file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `a JSON routing data file (${(e as Error).message})`;
  }
  const problems = routingDataProblems(doc);
  return problems.length ? `a valid routing data document; in it: ${problems.join('; ')}` : undefined;
}

/** Reads a routing data file; throws one message naming `key`, the file and every problem. */
export function readRoutingDataFile(file: string, key: string): RoutingData {
  const why = routingDataFileProblem(file);
  if (why) throw new Error(`${key}: got "${file}", expected ${why}`);
  return JSON.parse(readFileSync(file, 'utf8')) as RoutingData;
}
