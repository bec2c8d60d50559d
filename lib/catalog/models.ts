/**
 * Model catalog: architecture figures for KV-cache math and weight sizes per format
 * (shared/docs/facts.md, "Models").
 */

/** Weight formats a fleet can serve. */
export const WEIGHT_FORMATS = ['bf16', 'fp8', 'awq-int4'] as const;
/** A weight format. */
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];

/** KV-cache element types vLLM accepts through `--kv-cache-dtype` that this project plans for. */
export const KV_CACHE_DTYPES = ['auto', 'fp8'] as const;
/** A KV-cache dtype. */
export type KvCacheDtype = (typeof KV_CACHE_DTYPES)[number];

/** A 40-hex Hugging Face commit id: the only revision form a pin accepts (a branch or tag moves). */
export const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** The commits a model that runs remote code is loaded from. */
export interface RemoteCodePin {
  /** Commit of the weights repository, per build (`--revision`, `--tokenizer-revision`). */
  readonly revisions: Partial<Record<WeightFormat, string>>;
  /** Repository whose Python the model's config maps to (may differ from the weights repository). */
  readonly codeRepository: string;
  /** Commit of `codeRepository` (`--code-revision`). */
  readonly codeRevision: string;
}

/** One model family the project knows how to size. */
export interface ModelSpec {
  /** Total parameters. */
  readonly params: number;
  /**
   * Parameters kept in 16 bit by quantized builds: the input embedding plus the lm_head
   * (vocab x hidden each; once when the two are tied).
   */
  readonly unquantizedParams: number;
  /** Decoder layers. */
  readonly layers: number;
  /** Key/value heads (grouped-query attention). */
  readonly kvHeads: number;
  /** Dimension of one attention head. */
  readonly headDim: number;
  /** Longest context the model supports. */
  readonly maxContext: number;
  /** `pooling` models (embeddings) keep no KV cache between requests. */
  readonly runner: 'generate' | 'pooling';
  /** Hugging Face repository per available weight format. */
  readonly builds: Partial<Record<WeightFormat, string>>;
  /** Name the server advertises (`--served-model-name`) unless config says otherwise. */
  readonly servedName: string;
  /**
   * Prefix an embedding model expects on every input (nomic-embed-text: `search_query: ` /
   * `search_document: `; the proxy compares prompts with exemplars, so both are queries).
   */
  readonly queryPrefix?: string;
  /** Extra vLLM flags the model needs, besides the remote-code flags below. */
  readonly extraArgs?: readonly string[];
  /**
   * The model runs Python from a Hugging Face repository (`--trust-remote-code`): what is executed
   * is pinned, so a push to the hub cannot change the code an instance runs (vLLM runs it in the
   * server process, next to the GPU and the model weights).
   */
  readonly remoteCode?: RemoteCodePin;
  /** True when the Hugging Face repository is gated (licence acceptance plus a token). */
  readonly gated: boolean;
}

/** Every model the project can size. Keys are the names config uses. */
export const MODEL_CATALOG: Readonly<Record<string, ModelSpec>> = {
  'llama-3.1-8b-instruct': {
    params: 8.03e9,
    // vocab 128,256 x hidden 4,096, untied input embedding and lm_head.
    unquantizedParams: 2 * 128_256 * 4_096,
    layers: 32,
    kvHeads: 8,
    headDim: 128,
    maxContext: 131_072,
    runner: 'generate',
    builds: {
      'bf16': 'meta-llama/Llama-3.1-8B-Instruct',
      'fp8': 'neuralmagic/Meta-Llama-3.1-8B-Instruct-FP8',
      'awq-int4': 'hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4',
    },
    servedName: 'llama-3.1-8b-instruct',
    gated: true,
  },
  'llama-3.1-70b-instruct': {
    params: 70.56e9,
    // vocab 128,256 x hidden 8,192, untied.
    unquantizedParams: 2 * 128_256 * 8_192,
    layers: 80,
    kvHeads: 8,
    headDim: 128,
    maxContext: 131_072,
    runner: 'generate',
    builds: {
      'bf16': 'meta-llama/Llama-3.1-70B-Instruct',
      'fp8': 'neuralmagic/Meta-Llama-3.1-70B-Instruct-FP8',
      'awq-int4': 'hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4',
    },
    servedName: 'llama-3.1-70b-instruct',
    gated: true,
  },
  'qwen2.5-1.5b-instruct': {
    params: 1.54e9,
    // vocab 151,936 x hidden 1,536, tied embeddings.
    unquantizedParams: 151_936 * 1_536,
    layers: 28,
    kvHeads: 2,
    headDim: 128,
    maxContext: 32_768,
    runner: 'generate',
    builds: { bf16: 'Qwen/Qwen2.5-1.5B-Instruct' },
    servedName: 'qwen2.5-1.5b-instruct',
    gated: false,
  },
  'nomic-embed-text-v1.5': {
    params: 0.137e9,
    unquantizedParams: 30_528 * 768,
    layers: 12,
    kvHeads: 12,
    headDim: 64,
    maxContext: 8_192,
    runner: 'pooling',
    builds: { bf16: 'nomic-ai/nomic-embed-text-v1.5' },
    servedName: 'nomic-embed-text-v1.5',
    queryPrefix: 'search_query: ',
    // Its config.json maps AutoConfig and AutoModel to nomic-ai/nomic-bert-2048, so the executed
    // modelling code comes from that second repository. Both commits are the ones public projects
    // pin for this model (the same hashes appear in Hugging Face cache paths and blob URLs).
    remoteCode: {
      revisions: { bf16: 'e9b6763023c676ca8431644204f50c2b100d9aab' },
      codeRepository: 'nomic-ai/nomic-bert-2048',
      codeRevision: '7710840340a098cfb869c4f65e87cf2b1b70caca',
    },
    gated: false,
  },
};

/** Names of every catalogued model. */
export const MODEL_NAMES: readonly string[] = Object.keys(MODEL_CATALOG);

/**
 * Bytes per quantized parameter. AWQ INT4 with group size 128 stores 4-bit weights plus, per group
 * of 128, one fp16 scale and one 4-bit zero point: 0.5 + (2 + 0.5) / 128 bytes. FP8 keeps one
 * per-channel scale, negligible at this precision.
 */
export const BYTES_PER_QUANTIZED_PARAM: Readonly<Record<WeightFormat, number>> = {
  'bf16': 2,
  'fp8': 1,
  'awq-int4': 0.5 + 2.5 / 128,
};

/** Looks up a model; throws when it is not catalogued (config validation rejects it first). */
export function modelSpec(name: string): ModelSpec {
  const spec = MODEL_CATALOG[name];
  if (!spec) {
    throw new Error(`model: got "${name}", expected one of ${MODEL_NAMES.join(', ')}`);
  }
  return spec;
}

/** What a server config says about the repository it loads. */
export interface RevisionChoice {
  readonly weightFormat: WeightFormat;
  readonly hubModelId?: string;
  readonly revision?: string;
  readonly codeRevision?: string;
}

/**
 * The commits a server loads: the configured ones, else the catalog's pins when the server loads the
 * catalog's own build (a different `hubModelId` gets no pin from the catalog).
 */
export function pinnedRevisions(model: ModelSpec, s: RevisionChoice): { revision?: string; codeRevision?: string } {
  const build = model.builds[s.weightFormat];
  const catalogBuild = s.hubModelId === undefined || s.hubModelId === build;
  const pin = catalogBuild ? model.remoteCode : undefined;
  return {
    revision: s.revision ?? pin?.revisions[s.weightFormat],
    codeRevision: s.codeRevision ?? pin?.codeRevision,
  };
}
