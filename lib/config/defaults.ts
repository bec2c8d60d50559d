import { DEFAULT_KEYWORDS, ROUTING_DEFAULTS } from '../../contracts/routing';
import { gp3PerformanceUsdPerHour, GP3_LIMITS } from '../catalog/ebs';
import type { WeightFormat } from '../catalog/models';
import { estimateBoot } from './boot-time';

/**
 * Defaults of every configuration key. `cdk.json` context `environments.<name>` overrides them per
 * environment, and `-c key.path=value` overrides both.
 */

/**
 * Longest hold of a request for an empty tier, s: half the OpenAI SDKs' default 600 s client
 * timeout (the other half is left for the answer), and under the public load balancer's idle
 * timeout (longestGenerationSeconds + 60 = 360 s by default), which a held non-streamed request,
 * silent until its answer, must not outlast. A large-tier cold start (10-15 min) is longer: a hold
 * covers the end of a start, and a request that outlives it gets 503 with Retry-After.
 */
const HOLD_SECONDS = 300;

/**
 * Root gp3 volume of every fleet. The boot extracts a ~20 GB vLLM image onto it (boot-time.ts), which
 * at the baseline 125 MiB/s is disk-bound (~2.5 min); 250 MiB/s lifts the disk above the estimated
 * layer decompression rate (~1.3 min). Weights go to instance NVMe on every catalogued type, so more
 * throughput buys nothing further there. 250 MiB/s fits the free 3,000 IOPS (at most 0.25 MiB/s per
 * IOPS). Cost: 125 MiB/s above the baseline at $0.04 per MiB/s-month, $5.00 per volume-month or
 * {@link ROOT_VOLUME_EXTRA_USD_PER_HOUR} per instance-hour (0.4% of a g6e.xlarge).
 */
export const ROOT_VOLUME_DEFAULTS = {
  throughputMiBps: 250,
  iops: GP3_LIMITS.baselineIops,
} as const;

/** What the default root volume performance adds to each instance's hourly price. */
export const ROOT_VOLUME_EXTRA_USD_PER_HOUR = gp3PerformanceUsdPerHour(ROOT_VOLUME_DEFAULTS.throughputMiBps, ROOT_VOLUME_DEFAULTS.iops);

/**
 * Default health-check grace of a fleet: the estimated boot (instance start, image pull, weight
 * download and load, engine start with CUDA graph capture) times a safety factor, rounded up to a
 * minute. For the large tier (g6e.4xlarge, Llama-3.1-70B AWQ, ~37 GiB of weights) that is
 * 90 + 10 GB/60 MB/s + 20 GB/250 MB/s + 39.8 GB/80 MB/s + 39.8 GB/1 GB/s + 120 = ~993 s, x 1.5 =
 * 1,500 s. The rates are estimates (boot-time.ts); a measured boot should replace them.
 */
function defaultGrace(instanceType: string, servers: { model: string; weightFormat: WeightFormat }[]): number {
  return estimateBoot({ instanceType, servers, rootVolumeThroughputMiBps: ROOT_VOLUME_DEFAULTS.throughputMiBps }).graceSeconds;
}

/** Every key with its default; `envName` is filled in by the loader. */
export const DEFAULTS = {
  region: 'us-east-1',
  network: {
    cidr: '10.40.0.0/16',
    azCount: 2,
    natGateways: 1,
  },
  vllm: {
    imageTag: 'v0.11.0',
    huggingFaceTokenSecretName: 'llm-tier-router/hf-token',
    // Activations, CUDA graphs and the CUDA context per GPU (estimate: 1.5-3 GiB, facts.md).
    runtimeReserveGiB: 2,
  },
  router: {
    instanceType: 'g6e.xlarge',
    minCapacity: 1,
    maxCapacity: 2,
    businessHoursMinCapacity: 1,
    rootVolumeGiB: 120,
    rootVolumeThroughputMiBps: ROOT_VOLUME_DEFAULTS.throughputMiBps,
    rootVolumeIops: ROOT_VOLUME_DEFAULTS.iops,
    // Two small models, but two engine starts one after the other.
    healthCheckGraceSeconds: defaultGrace('g6e.xlarge', [
      { model: 'qwen2.5-1.5b-instruct', weightFormat: 'bf16' },
      { model: 'nomic-embed-text-v1.5', weightFormat: 'bf16' },
    ]),
    scorer: {
      model: 'qwen2.5-1.5b-instruct',
      weightFormat: 'bf16',
      maxModelLen: 4096,
      maxNumBatchedTokens: 8192,
      maxNumSeqs: 128,
      kvCacheDtype: 'auto',
      gpuMemoryUtilization: 0.45,
    },
    embedding: {
      model: 'nomic-embed-text-v1.5',
      weightFormat: 'bf16',
      // nomic-embed-text's default context (facts.md); the proxy scores at most 2048 characters.
      maxModelLen: 2048,
      maxNumBatchedTokens: 8192,
      maxNumSeqs: 256,
      kvCacheDtype: 'auto',
      gpuMemoryUtilization: 0.25,
    },
  },
  tiers: [
    {
      name: 'small',
      instanceType: 'g6e.xlarge',
      model: 'llama-3.1-8b-instruct',
      weightFormat: 'awq-int4',
      maxModelLen: 16384,
      maxNumBatchedTokens: 16384,
      maxNumSeqs: 128,
      tensorParallelSize: 1,
      kvCacheDtype: 'auto',
      gpuMemoryUtilization: 0.9,
      minCapacity: 1,
      maxCapacity: 4,
      businessHoursMinCapacity: 1,
      // g6e.xlarge ($1.861/h) at an assumed ~2,000 sustained output tokens/s (estimate).
      pricePer1kOutputTokensUsd: 0.00026,
      rootVolumeGiB: 100,
      // Empty (scaling from zero): the large tier serves meanwhile; pay more rather than fail.
      whenEmpty: 'spill' as 'hold' | 'spill',
      maxHoldSeconds: HOLD_SECONDS,
      // Two full batches of the first instance (maxNumSeqs 128), if it is ever set to hold.
      holdQueueSize: 256,
      rootVolumeThroughputMiBps: ROOT_VOLUME_DEFAULTS.throughputMiBps,
      rootVolumeIops: ROOT_VOLUME_DEFAULTS.iops,
      healthCheckGraceSeconds: defaultGrace('g6e.xlarge', [{ model: 'llama-3.1-8b-instruct', weightFormat: 'awq-int4' }]),
    },
    {
      name: 'large',
      instanceType: 'g6e.4xlarge',
      model: 'llama-3.1-70b-instruct',
      // 70B FP8 (~67.7 GiB) does not fit one 48 GB L40S; AWQ INT4 (~37 GiB) does, with fp8 KV and
      // max-model-len 8192 (facts.md).
      weightFormat: 'awq-int4',
      maxModelLen: 8192,
      maxNumBatchedTokens: 8192,
      maxNumSeqs: 16,
      tensorParallelSize: 1,
      kvCacheDtype: 'fp8',
      gpuMemoryUtilization: 0.95,
      minCapacity: 1,
      maxCapacity: 2,
      businessHoursMinCapacity: 1,
      // g6e.4xlarge ($3.00424/h) at an assumed ~150 sustained output tokens/s (estimate).
      pricePer1kOutputTokensUsd: 0.0056,
      // 60% of 16 sequences, not the environment's 70%: with few slots a 70B instance's load swings
      // widely, and each added instance takes ~17 minutes to boot. The fleet simulator's prod diurnal
      // day (3 seeds) at half the maximum rate: churn 18 -> 9, refused 563 -> 243, large-tier p95 wait
      // 36-52 s -> 19-35 s, cost -0.4%; at 80% the same cost with churn 7 -> 2 (tools/fleet-sim/README.md).
      targetLoadFraction: 0.6,
      rootVolumeGiB: 200,
      // Empty: nothing larger to spill to, so requests wait for the first instance.
      whenEmpty: 'hold' as 'hold' | 'spill',
      maxHoldSeconds: HOLD_SECONDS,
      // Four full batches of the first instance (maxNumSeqs 16): more would wait in vLLM's queue
      // past any client's patience anyway.
      holdQueueSize: 64,
      rootVolumeThroughputMiBps: ROOT_VOLUME_DEFAULTS.throughputMiBps,
      rootVolumeIops: ROOT_VOLUME_DEFAULTS.iops,
      // ~37 GiB of weights over NAT dominate: see defaultGrace.
      healthCheckGraceSeconds: defaultGrace('g6e.4xlarge', [{ model: 'llama-3.1-70b-instruct', weightFormat: 'awq-int4' }]),
    },
  ],
  routing: {
    threshold: ROUTING_DEFAULTS.threshold,
    embeddingWeight: ROUTING_DEFAULTS.embeddingWeight,
    ratingWeight: ROUTING_DEFAULTS.ratingWeight,
    truncateChars: ROUTING_DEFAULTS.truncateChars,
    fastPathMargin: ROUTING_DEFAULTS.fastPathMargin,
    keywordPolicy: ROUTING_DEFAULTS.keywordPolicy,
    keywordBias: ROUTING_DEFAULTS.keywordBias,
    keywords: [...DEFAULT_KEYWORDS],
    fallbackTier: 'large',
    scorerTimeoutMs: ROUTING_DEFAULTS.scorerTimeoutMs,
    embeddingTimeoutMs: ROUTING_DEFAULTS.embeddingTimeoutMs,
    allowTierOverride: false,
    sessionTtlSeconds: ROUTING_DEFAULTS.sessionTtlSeconds,
    mode: 'route',
    shadowSampleRate: 0,
    shadowMaxConcurrent: 4,
    shadowMaxTokens: 1024,
    shadowMaxCaptureChars: 16_000,
    shadowRetentionDays: 30,
  },
  longestGenerationSeconds: 300,
  scaling: {
    queueDepthScaleOut: 20,
    queueDepthScaleOutLarge: 60,
    scaleOutEvaluationSeconds: 30,
    targetLoadFraction: 0.7,
    // 60 s, not 10 s: target tracking's scale-in alarm needs 15 datapoints under 90% of the target,
    // which at 10 s is 2.5 minutes of a noisy per-instance average and removes instances mid-load.
    // The fleet simulator's 24 h prod diurnal run (tools/fleet-sim/README.md): large-tier churn 5 at
    // 10 s, 2 at 60 s, same cost. Bursts still scale out within 30 s on the queue step.
    loadTrackingPeriodSeconds: 60,
    queueDepthBlocksScaleIn: 1,
    noCapacityRequestsScaleFromZero: 1,
    // A tier at zero takes one boot (9-17 min) to serve again: sparse traffic kept it flapping 0 <-> 1
    // every ~17 min. 30 idle minutes cost at most half an instance-hour per idle spell.
    idleMinutesBeforeZero: 30,
  },
  businessHours: {
    enabled: false,
    timeZone: 'America/New_York',
    days: ['MON', 'TUE', 'WED', 'THU', 'FRI'],
    startHour: 8,
    endHour: 19,
  },
  prewarm: {
    enabled: true,
    // Every 5 minutes in each hour outside business hours (every hour when the raised minimum is off).
    intervalMinutes: 5,
    timeoutMs: 15000,
  },
  alarms: {
    emails: [] as string[],
    monthlyBudgetUsd: 10000,
    anomalyThresholdUsd: 100,
    largeTierShareLimit: 0.25,
    fallbackRateLimit: 0.05,
    queueDepthWaiting: 50,
    p99TimeToFirstTokenMs: 2000,
    p99EndToEndMs: 60000,
    proxy5xxRateLimit: 0.01,
    costGuardEnabled: true,
  },
  proxy: {
    cpu: 1024,
    memoryMiB: 2048,
    minTasks: 2,
    maxTasks: 6,
    allowHttp: false,
    allowedCidrs: ['0.0.0.0/0'],
    targetCpuPercent: 60,
    requestsPerTarget: 3000,
    wafEnabled: false,
    opsEndpoints: 'private' as 'private' | 'apiKey' | 'public',
    wafRateLimit: 2000,
  },
  logRetentionDays: 30,
  workload: {
    requestsPerMonth: 10_000_000,
    outputTokensPerRequest: 500,
    largeShare: 0.15,
  },
  tags: {} as Record<string, string>,
};
