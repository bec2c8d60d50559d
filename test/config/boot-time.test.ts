import { BOOT_ESTIMATES, estimateBoot } from '../../lib/config/boot-time';
import { DEFAULTS, ROOT_VOLUME_DEFAULTS } from '../../lib/config/defaults';

const large = { instanceType: 'g6e.4xlarge', servers: [{ model: 'llama-3.1-70b-instruct', weightFormat: 'awq-int4' as const }] };

describe('boot-time estimate behind each fleet\'s default grace', () => {
  test('large tier: the formula step by step, by hand', () => {
    // Llama-3.1-70B AWQ INT4: 68.46e9 quantized params at 0.5 + 2.5/128 bytes, 2.10e9 in 16 bit.
    const unquantized = 2 * 128_256 * 8_192;
    const weights = (70.56e9 - unquantized) * (0.5 + 2.5 / 128) + unquantized * 2;
    const e = estimateBoot({ ...large, rootVolumeThroughputMiBps: 250 });
    expect(e.instanceStart).toBe(90);
    expect(e.imageDownload).toBeCloseTo(10e9 / 60e6, 6);
    // 250 MiB/s (262 MB/s) is above the 250 MB/s decompression estimate, which then binds.
    expect(e.imageExtract).toBeCloseTo(20e9 / 250e6, 6);
    expect(e.weightsDownload).toBeCloseTo(weights / 80e6, 6);
    expect(e.weightsLoad).toBeCloseTo(weights / 1e9, 6);
    expect(e.engineStart).toBe(120);
    expect(e.total).toBeCloseTo(90 + 10e9 / 60e6 + 80 + weights / 80e6 + weights / 1e9 + 120, 6);
    expect(e.graceSeconds).toBe(Math.ceil((e.total * 1.5) / 60) * 60);
    expect(e.graceSeconds).toBe(1500);
  });

  test('the baseline 125 MiB/s root volume makes layer extraction disk-bound and the boot longer', () => {
    const slow = estimateBoot({ ...large, rootVolumeThroughputMiBps: 125 });
    const fast = estimateBoot({ ...large, rootVolumeThroughputMiBps: ROOT_VOLUME_DEFAULTS.throughputMiBps });
    expect(slow.imageExtract).toBeCloseTo(20e9 / (125 * 1024 ** 2), 6);
    expect(slow.imageExtract - fast.imageExtract).toBeGreaterThan(70);
    expect(slow.graceSeconds).toBeGreaterThan(fast.graceSeconds);
  });

  test('weights cached on the root volume are written and read at its throughput', () => {
    const onRoot = estimateBoot({ ...large, rootVolumeThroughputMiBps: 125, weightsOnNvme: false });
    const onNvme = estimateBoot({ ...large, rootVolumeThroughputMiBps: 125 });
    expect(onRoot.weightsLoad).toBeCloseTo(onNvme.weightsLoad * 1e9 / (125 * 1024 ** 2), 6);
    // The hub (80 MB/s estimate) is slower than 125 MiB/s, so the download does not change.
    expect(onRoot.weightsDownload).toBeCloseTo(onNvme.weightsDownload, 6);
    const slowDisk = estimateBoot({ ...large, rootVolumeThroughputMiBps: 125, weightsOnNvme: false }, { ...BOOT_ESTIMATES, hubBytesPerSecond: 1e9 });
    expect(slowDisk.weightsDownload).toBeCloseTo(onNvme.weightsLoad * 1e9 / (125 * 1024 ** 2), 6);
  });

  test('the router starts two engines one after the other', () => {
    const e = estimateBoot({ instanceType: 'g6e.xlarge', servers: [{ model: 'qwen2.5-1.5b-instruct', weightFormat: 'bf16' }, { model: 'nomic-embed-text-v1.5', weightFormat: 'bf16' }], rootVolumeThroughputMiBps: 250 });
    expect(e.engineStart).toBe(240);
  });

  test('defaults: every fleet\'s grace is its estimate, the large tier the longest, all within the one-hour signal wait', () => {
    const graces = [DEFAULTS.router.healthCheckGraceSeconds, ...DEFAULTS.tiers.map((t) => t.healthCheckGraceSeconds)];
    expect(graces).toEqual([960, 840, 1500]);
    expect(DEFAULTS.tiers[1].healthCheckGraceSeconds).toBe(estimateBoot({ ...large, rootVolumeThroughputMiBps: DEFAULTS.tiers[1].rootVolumeThroughputMiBps }).graceSeconds);
    for (const g of graces) expect(g).toBeLessThanOrEqual(3600);
  });
});
