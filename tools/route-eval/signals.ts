/**
 * The raw signals route-eval scores prompts with: embedding vectors and scorer ratings, fetched
 * through the proxy's own HTTP clients (an OpenAI-compatible embeddings endpoint and a chat
 * endpoint of the scorer LLM) or computed in-process by a local embedder, and recorded in the
 * cache so a rerun costs nothing.
 */
import * as path from 'node:path';
import { parseProxyConfig } from '../../contracts/proxy-config';
import { EmbeddingClient, ScorerClient } from '../../proxy/src/scoring';
import type { TextEmbedder } from '../simulator/sentence-embedder';
import { RatingCache, VectorCache, cacheKey, slug } from './cache';

/** Where vectors come from. */
export type EmbeddingSource =
  | { readonly kind: 'endpoint'; readonly url: string; readonly model: string; readonly queryPrefix: string; readonly batchSize: number; readonly timeoutMs: number }
  | { readonly kind: 'local'; readonly embedder: TextEmbedder; readonly queryPrefix: string };

/** Where ratings come from. */
export interface ScorerSource {
  readonly url: string;
  readonly model: string;
  readonly timeoutMs: number;
}

/** Identity of a source in the cache (the model, and the endpoint for remote ones). */
export function embeddingSourceId(s: EmbeddingSource): string {
  return s.kind === 'local' ? s.embedder.id : `${s.model}@${s.url}`;
}

/** Progress callback: done of total. */
export type Progress = (done: number, total: number) => void;

/** Client settings the proxy's clients need besides URL and model (defaults of the proxy config). */
function routerDefaults(embeddingUrl: string, embeddingModel: string, scorerUrl: string, scorerModel: string) {
  return parseProxyConfig({
    allowUnauthenticated: true,
    tiers: [{ name: 'small', baseUrl: 'http://127.0.0.1:1', model: 'x' }],
    router: { embedding: { baseUrl: embeddingUrl, model: embeddingModel }, scorer: { baseUrl: scorerUrl, model: scorerModel } },
  }).router;
}

/**
 * Vectors of `texts` (the prefix is added here, as the proxy adds it), from the cache or the source;
 * new ones are recorded. Calls run `concurrency` at a time.
 */
export async function embedTexts(texts: readonly string[], source: EmbeddingSource, cacheDir: string | undefined, progress?: Progress, concurrency = 4): Promise<Float32Array[]> {
  const id = embeddingSourceId(source);
  const model = source.kind === 'local' ? source.embedder.id : source.model;
  const cache = new VectorCache(cacheDir ? path.join(cacheDir, `vectors-${slug(id)}.bin`) : undefined);
  const out = new Array<Float32Array>(texts.length);
  const todo: number[] = [];
  texts.forEach((t, i) => {
    const v = cache.get(cacheKey(model, source.queryPrefix + t));
    if (v) out[i] = v;
    else todo.push(i);
  });
  let done = texts.length - todo.length;
  progress?.(done, texts.length);
  try {
    if (source.kind === 'local') {
      for (const i of todo) {
        const [v] = await source.embedder.embed([source.queryPrefix + texts[i]]);
        out[i] = v;
        cache.set(cacheKey(model, source.queryPrefix + texts[i]), v);
        progress?.(++done, texts.length);
      }
    } else {
      const cfg = { ...routerDefaults(source.url, source.model, 'http://127.0.0.1:1', 'x').embedding, queryPrefix: source.queryPrefix, batchSize: source.batchSize, timeoutMs: source.timeoutMs };
      const client = new EmbeddingClient(cfg);
      const batches: number[][] = [];
      for (let i = 0; i < todo.length; i += source.batchSize) batches.push(todo.slice(i, i + source.batchSize));
      let next = 0;
      const worker = async () => {
        while (next < batches.length) {
          const batch = batches[next++];
          const ctl = AbortSignal.timeout(Math.max(source.timeoutMs, 1000) * batch.length);
          const vs = await client.embedMany(batch.map((i) => texts[i]), ctl);
          batch.forEach((i, j) => {
            out[i] = Float32Array.from(vs[j]);
            cache.set(cacheKey(model, source.queryPrefix + texts[i]), out[i]);
          });
          done += batch.length;
          progress?.(done, texts.length);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
      client.upstream.destroy();
    }
  } finally {
    cache.flush();
  }
  return out;
}

/**
 * Ratings 0-10 of `texts` from the scorer LLM, through the proxy's scorer client and its prompt;
 * NaN where the scorer answered no rating. Recorded like vectors.
 */
export async function rateTexts(texts: readonly string[], source: ScorerSource, cacheDir: string | undefined, progress?: Progress, concurrency = 8): Promise<Float64Array> {
  const cfg = { ...routerDefaults('http://127.0.0.1:1', 'x', source.url, source.model).scorer, timeoutMs: source.timeoutMs };
  const id = `${source.model}@${source.url}`;
  const cache = new RatingCache(cacheDir ? path.join(cacheDir, `ratings-${slug(id)}.jsonl`) : undefined);
  const keyOf = (t: string) => cacheKey(`${source.model}\n${cfg.systemPrompt}`, t);
  const out = new Float64Array(texts.length).fill(NaN);
  const todo: number[] = [];
  texts.forEach((t, i) => {
    const r = cache.get(keyOf(t));
    if (r !== undefined) out[i] = r;
    else todo.push(i);
  });
  let done = texts.length - todo.length;
  progress?.(done, texts.length);
  const client = new ScorerClient(cfg);
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const i = todo[next++];
      try {
        const r = await client.rate(texts[i], AbortSignal.timeout(Math.max(source.timeoutMs, 1000)));
        if (r.ok) {
          out[i] = r.rating;
          cache.set(keyOf(texts[i]), r.rating);
        }
      } catch {
        // no rating: the proxy's embedding decides alone for this prompt, as it would in service
      }
      progress?.(++done, texts.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, todo.length)) }, worker));
  } finally {
    cache.flush();
    client.upstream.destroy();
  }
  return out;
}
