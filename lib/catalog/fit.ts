/**
 * GPU memory-fit math for one vLLM server: weights + a runtime reserve + the KV cache of one
 * full-length sequence must fit in usable GPU memory x utilization x GPUs used.
 */
import { INSTANCE_CATALOG, INSTANCE_TYPES, instanceSpec } from './instances';
import { BYTES_PER_QUANTIZED_PARAM, KvCacheDtype, ModelSpec, WeightFormat, modelSpec } from './models';

/** Bytes in one GiB. */
export const GIB = 1024 ** 3;
/** Bytes in one MiB. */
export const MIB = 1024 ** 2;

/** What one vLLM server asks of its GPUs. */
export interface ServerFitInput {
  readonly instanceType: string;
  readonly model: string;
  readonly weightFormat: WeightFormat;
  readonly tensorParallelSize: number;
  /** `--gpu-memory-utilization`: the fraction of each GPU this server may take. */
  readonly gpuMemoryUtilization: number;
  readonly maxModelLen: number;
  readonly kvCacheDtype: KvCacheDtype;
  /** Activations, CUDA graphs and the CUDA context, per GPU (estimate: 1.5-3 GiB). */
  readonly runtimeReserveGiB: number;
}

/** The memory plan of one vLLM server. */
export interface ServerFit {
  readonly fits: boolean;
  readonly gpusUsed: number;
  /** usable GPU memory x utilization x GPUs used. */
  readonly budgetBytes: number;
  readonly weightsBytes: number;
  readonly reserveBytes: number;
  readonly kvBytesPerToken: number;
  /** Tokens of KV cache left after weights and reserve (0 for pooling models, which keep none). */
  readonly kvCapacityTokens: number;
  /** Bytes one full-length sequence needs: weights + reserve + KV for maxModelLen tokens. */
  readonly requiredBytes: number;
  /** Full-length sequences the KV cache holds at once. */
  readonly fullLengthSequences: number;
}

/** Weight bytes of a model build: quantized layers at the format's width, embeddings and lm_head in 16 bit. */
export function weightBytes(model: ModelSpec, format: WeightFormat): number {
  if (format === 'bf16') {
    return model.params * 2;
  }
  const quantized = model.params - model.unquantizedParams;
  return quantized * BYTES_PER_QUANTIZED_PARAM[format] + model.unquantizedParams * 2;
}

/**
 * KV-cache bytes per token: 2 (K and V) x layers x KV heads x head dim x bytes per element. `auto`
 * keeps the model's 16-bit activations dtype, whatever the weight format.
 */
export function kvBytesPerToken(model: ModelSpec, kvCacheDtype: KvCacheDtype): number {
  if (model.runner === 'pooling') {
    return 0;
  }
  const bytesPerElement = kvCacheDtype === 'fp8' ? 1 : 2;
  return 2 * model.layers * model.kvHeads * model.headDim * bytesPerElement;
}

/** Computes the memory plan of one server on its instance. */
export function planServer(input: ServerFitInput): ServerFit {
  const instance = instanceSpec(input.instanceType);
  const model = modelSpec(input.model);
  const gpusUsed = input.tensorParallelSize;
  const budgetBytes = instance.gpuMemoryMiB * MIB * input.gpuMemoryUtilization * gpusUsed;
  const weights = weightBytes(model, input.weightFormat);
  const reserveBytes = input.runtimeReserveGiB * GIB * gpusUsed;
  const perToken = kvBytesPerToken(model, input.kvCacheDtype);
  const free = budgetBytes - weights - reserveBytes;
  const kvCapacityTokens = perToken === 0 ? 0 : Math.max(0, Math.floor(free / perToken));
  const requiredBytes = weights + reserveBytes + perToken * input.maxModelLen;
  return {
    fits: requiredBytes <= budgetBytes,
    gpusUsed,
    budgetBytes,
    weightsBytes: weights,
    reserveBytes,
    kvBytesPerToken: perToken,
    kvCapacityTokens,
    requiredBytes,
    fullLengthSequences: perToken === 0 ? 0 : Math.floor(kvCapacityTokens / input.maxModelLen),
  };
}

/** Formats bytes as GiB with one decimal. */
export function gib(bytes: number): string {
  return `${(bytes / GIB).toFixed(1)} GiB`;
}

/**
 * Explains a server that does not fit and names the fixes that would make it fit: a larger
 * instance with tensor parallelism, a 4-bit build, a shorter max model length.
 */
export function misfitMessage(input: ServerFitInput, fit: ServerFit): string {
  const instance = instanceSpec(input.instanceType);
  const fixes: string[] = [];
  // The cheapest instance of the same GPU family that fits, then the cheapest of any family.
  const byPrice = INSTANCE_TYPES
    .filter((type) => type !== input.instanceType)
    .map((type) => ({ type, spec: INSTANCE_CATALOG[type] }))
    .sort((a, b) => a.spec.usdPerHour - b.spec.usdPerHour);
  const fitsOn = ({ type, spec }: { type: string; spec: { gpus: number } }) =>
    planServer({ ...input, instanceType: type, tensorParallelSize: spec.gpus }).fits;
  const sameFamily = byPrice.find((c) => c.spec.gpu === instance.gpu && fitsOn(c));
  const anyFamily = byPrice.find(fitsOn);
  for (const c of [sameFamily, anyFamily]) {
    const text = c && `instanceType ${c.type} with tensorParallelSize ${c.spec.gpus}`;
    if (text && !fixes.includes(text)) fixes.push(text);
  }
  const model = modelSpec(input.model);
  if (input.weightFormat !== 'awq-int4' && model.builds['awq-int4']) {
    if (planServer({ ...input, weightFormat: 'awq-int4' }).fits) {
      fixes.push('weightFormat awq-int4 (a 4-bit build)');
    }
  }
  if (fit.kvBytesPerToken > 0 && fit.kvCapacityTokens > 0) {
    fixes.push(`maxModelLen <= ${fit.kvCapacityTokens}`);
  }
  if (input.kvCacheDtype === 'auto' && fit.kvBytesPerToken > 0) {
    if (planServer({ ...input, kvCacheDtype: 'fp8' }).fits) {
      fixes.push('kvCacheDtype fp8');
    }
  }
  const has = `${gib(fit.budgetBytes)} (${instance.gpuMemoryMiB} MiB usable x ${input.gpuMemoryUtilization} x ${fit.gpusUsed} GPU)`;
  const needs = `${gib(fit.requiredBytes)} (weights ${gib(fit.weightsBytes)} + reserve ${gib(fit.reserveBytes)} + KV for one ${input.maxModelLen}-token sequence ${gib(fit.kvBytesPerToken * input.maxModelLen)})`;
  const fixText = fixes.length > 0 ? fixes.join(', or ') : 'a smaller model';
  return `got ${input.model} ${input.weightFormat} on ${input.instanceType} needing ${needs}, expected at most ${has}; fix: ${fixText}`;
}
