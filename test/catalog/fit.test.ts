import { GIB, kvBytesPerToken, misfitMessage, planServer, ServerFitInput, weightBytes } from '../../lib/catalog/fit';
import { INSTANCE_CATALOG } from '../../lib/catalog/instances';
import { modelSpec } from '../../lib/catalog/models';

const GB = 1e9;

describe('instance catalog', () => {
  test.each([
    ['g6e.xlarge', 1, 45_776, 1.861],
    ['g6e.4xlarge', 1, 45_776, 3.00424],
    ['g6e.12xlarge', 4, 45_776, 10.49264],
    ['g6e.48xlarge', 8, 45_776, 30.13118],
    ['g5.xlarge', 1, 22_888, 1.006],
    ['g6.xlarge', 1, 22_888, 0.8048],
    ['p4d.24xlarge', 8, 40_960, 21.957642],
    ['p5.48xlarge', 8, 81_559, 55.04],
  ])('%s has %d GPU(s) of %d usable MiB at $%d/h', (type, gpus, mib, price) => {
    expect(INSTANCE_CATALOG[type]).toMatchObject({ gpus, gpuMemoryMiB: mib, usdPerHour: price });
  });

  test('every g6e size up to 8xlarge, and 16xlarge, has one 48 GB L40S (the 4xlarge buys no GPU memory)', () => {
    for (const type of ['g6e.xlarge', 'g6e.2xlarge', 'g6e.4xlarge', 'g6e.8xlarge', 'g6e.16xlarge']) {
      expect(INSTANCE_CATALOG[type]).toMatchObject({ gpus: 1, gpu: 'L40S', gpuMemoryMiB: 45_776 });
    }
  });
});

describe('weights and KV cache (facts.md figures)', () => {
  const llama8 = modelSpec('llama-3.1-8b-instruct');
  const llama70 = modelSpec('llama-3.1-70b-instruct');
  const qwen = modelSpec('qwen2.5-1.5b-instruct');

  test('bf16 weights are two bytes per parameter', () => {
    expect(weightBytes(llama8, 'bf16') / GB).toBeCloseTo(16.06, 2);
    expect(weightBytes(llama70, 'bf16') / GB).toBeCloseTo(141.12, 2);
    expect(weightBytes(qwen, 'bf16') / GB).toBeCloseTo(3.08, 2);
  });

  test('AWQ INT4 keeps embeddings and lm_head in 16 bit: 8B ~5.3 GiB, 70B ~37 GiB', () => {
    expect(weightBytes(llama8, 'awq-int4') / GIB).toBeGreaterThan(5.2);
    expect(weightBytes(llama8, 'awq-int4') / GIB).toBeLessThan(5.45);
    expect(weightBytes(llama70, 'awq-int4') / GIB).toBeGreaterThan(36.5);
    expect(weightBytes(llama70, 'awq-int4') / GIB).toBeLessThan(37.5);
  });

  test('FP8: 8B ~9.1 GB, 70B ~67.7 GiB', () => {
    expect(weightBytes(llama8, 'fp8') / GB).toBeCloseTo(9.08, 1);
    expect(weightBytes(llama70, 'fp8') / GIB).toBeCloseTo(67.7, 1);
  });

  test('KV bytes per token: 8B 128 KiB, 70B 320 KiB, Qwen 1.5B 28 KiB in bf16; fp8 halves them', () => {
    expect(kvBytesPerToken(llama8, 'auto')).toBe(128 * 1024);
    expect(kvBytesPerToken(llama70, 'auto')).toBe(320 * 1024);
    expect(kvBytesPerToken(qwen, 'auto')).toBe(28 * 1024);
    expect(kvBytesPerToken(llama70, 'fp8')).toBe(160 * 1024);
    expect(kvBytesPerToken(modelSpec('nomic-embed-text-v1.5'), 'auto')).toBe(0);
  });
});

describe('planServer', () => {
  const large: ServerFitInput = {
    instanceType: 'g6e.4xlarge', model: 'llama-3.1-70b-instruct', weightFormat: 'awq-int4', tensorParallelSize: 1,
    gpuMemoryUtilization: 0.95, maxModelLen: 8192, kvCacheDtype: 'fp8', runtimeReserveGiB: 2,
  };

  test('70B AWQ on one L40S at 0.95 leaves 20-26k fp8 KV tokens: two full 8192-token sequences', () => {
    const fit = planServer(large);
    // Hand computation: 45,776 MiB x 0.95 = 43,487.2 MiB budget; weights 37.0 GiB; reserve 2 GiB.
    const budget = 45_776 * 1024 ** 2 * 0.95;
    const expected = Math.floor((budget - fit.weightsBytes - 2 * GIB) / (160 * 1024));
    expect(fit.fits).toBe(true);
    expect(fit.kvCapacityTokens).toBe(expected);
    expect(fit.kvCapacityTokens).toBeGreaterThan(20_000);
    expect(fit.kvCapacityTokens).toBeLessThan(26_000);
    expect(fit.fullLengthSequences).toBe(2);
  });

  test('the same with a bf16 KV cache holds 10-13k tokens', () => {
    const fit = planServer({ ...large, kvCacheDtype: 'auto' });
    expect(fit.kvCapacityTokens).toBeGreaterThan(10_000);
    expect(fit.kvCapacityTokens).toBeLessThan(13_000);
  });

  test('8B AWQ on one L40S at 0.9 leaves ~260k bf16 KV tokens', () => {
    const fit = planServer({ ...large, instanceType: 'g6e.xlarge', model: 'llama-3.1-8b-instruct', gpuMemoryUtilization: 0.9, kvCacheDtype: 'auto', maxModelLen: 16384 });
    expect(fit.kvCapacityTokens).toBeGreaterThan(250_000);
    expect(fit.kvCapacityTokens).toBeLessThan(280_000);
  });

  test('70B FP8 does not fit one L40S, and fits g6e.12xlarge with tensor parallelism 4', () => {
    expect(planServer({ ...large, weightFormat: 'fp8' }).fits).toBe(false);
    const tp4 = planServer({ ...large, weightFormat: 'fp8', instanceType: 'g6e.12xlarge', tensorParallelSize: 4, kvCacheDtype: 'auto' });
    expect(tp4.fits).toBe(true);
    expect(tp4.gpusUsed).toBe(4);
    expect(tp4.budgetBytes).toBeCloseTo(45_776 * 1024 ** 2 * 0.95 * 4, 0);
  });

  test('a misfit names the fixes: a larger instance with tensor parallelism, a 4-bit build, a shorter max model length', () => {
    const input = { ...large, weightFormat: 'fp8' as const };
    const message = misfitMessage(input, planServer(input));
    expect(message).toMatch(/^got llama-3\.1-70b-instruct fp8 on g6e\.4xlarge needing/);
    expect(message).toContain('instanceType g6e.12xlarge with tensorParallelSize 4');
    expect(message).toContain('weightFormat awq-int4');
    const longInput = { ...large, maxModelLen: 65536 };
    expect(misfitMessage(longInput, planServer(longInput))).toMatch(/maxModelLen <= \d+/);
  });
});
