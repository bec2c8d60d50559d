/**
 * The shape of one environment's configuration, and every rule a value must satisfy. Parsed once,
 * at the edge (bin/app.ts and the planner), before any construct is built.
 */
import { z } from 'zod';
import { INSTANCE_CATALOG, INSTANCE_TYPES } from '../catalog/instances';
import { COMMIT_SHA, KV_CACHE_DTYPES, MODEL_CATALOG, MODEL_NAMES, pinnedRevisions, WEIGHT_FORMATS } from '../catalog/models';
import { gp3Problems, GP3_LIMITS } from '../catalog/ebs';
import { misfitMessage, planServer, ServerFitInput } from '../catalog/fit';
import { ROUTER_FLEET_NAME } from '../../contracts/metrics';
import { isValidTimeZone } from './schedule';
import { PREWARM_INTERVALS, WEEKDAYS } from './business-hours';
import { didYouMean, formatValue } from '../../contracts/validation';
import { MAX_INLINE_ROUTING_DATA_BYTES, routingDataFileProblem } from '../../contracts/routing-data';
import { readFileSync } from 'node:fs';
import { proxyTimings } from '../proxy-config/timings';
import { ROUTING_MODES } from '../../contracts/proxy-config';

/** Periods, seconds, a target tracking policy accepts for its metric (TargetTrackingMetricStat.Period). */
export const LOAD_TRACKING_PERIODS = [10, 30, 60] as const;

// CLI context values arrive as strings: these coerce them by the type the schema expects.
function coerceNumber(v: unknown): unknown {
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) {
    return Number(v);
  }
  return v;
}
function coerceBoolean(v: unknown): unknown {
  if (v === 'true') return true;
  if (v === 'false') return false;
  return v;
}
function coerceList(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const text = v.trim();
  if (text.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch {
      return v;
    }
  }
  return text === '' ? [] : text.split(',').map((s) => s.trim());
}
function coerceRecord(v: unknown): unknown {
  if (typeof v === 'string' && v.trim().startsWith('{')) {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  return v;
}

const num = () => z.preprocess(coerceNumber, z.number());
const int = (min: number, max: number) => z.preprocess(coerceNumber, z.number().int().min(min).max(max));
const fraction = () => z.preprocess(coerceNumber, z.number().min(0).max(1));
const bool = () => z.preprocess(coerceBoolean, z.boolean());
const stringList = <T extends z.ZodType>(item: T) => z.preprocess(coerceList, z.array(item));

/**
 * The keyword list. An empty `-c routing.keywords=` is refused: with the keyword policy on it would
 * silently drop every keyword (a shell variable that expanded to nothing looks the same). No
 * keywords at all is written `routing.keywords=[]`; code fences and math notation still count then.
 */
const keywordList = () =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? v : coerceList(v)),
    z.array(z.string().trim().min(1, { message: 'a non-empty word or phrase' }), {
      error: (iss) =>
        typeof iss.input === 'string' && iss.input.trim() === ''
          ? 'got an empty value, expected a comma-separated list of words (routing.keywords=[] for none, code and math notation still count; routing.keywordPolicy=off turns the signal off)'
          : undefined,
    }),
  );

const CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;
const cidr = () => z.string().regex(CIDR, { message: 'an IPv4 CIDR such as 10.40.0.0/16' });
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Who reaches `/readyz` and `/metrics` from the internet (`proxy.opsEndpoints`). */
export const OPS_ENDPOINTS = ['private', 'apiKey', 'public'] as const;

/** CloudWatch Logs retention values the API accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const instanceType = () => z.string().refine((t) => t in INSTANCE_CATALOG, {
  error: (iss) => `got ${formatValue(iss.input)}, expected a catalogued GPU instance type${didYouMean(String(iss.input), INSTANCE_TYPES)} (one of ${INSTANCE_TYPES.join(', ')})`,
});
const modelName = () => z.string().refine((m) => m in MODEL_CATALOG, {
  error: (iss) => `got ${formatValue(iss.input)}, expected a catalogued model${didYouMean(String(iss.input), MODEL_NAMES)} (one of ${MODEL_NAMES.join(', ')})`,
});

/** Settings of one vLLM server, shared by tier fleets and the router's two servers. */
const serverFields = {
  /** Catalog name of the model (lib/catalog/models.ts). */
  model: modelName(),
  /** Weight format of the build to serve. */
  weightFormat: z.enum(WEIGHT_FORMATS),
  /** Hugging Face repository to load; defaults to the catalog's build for the weight format. */
  hubModelId: z.string().min(1).optional(),
  /**
   * Commit of the Hugging Face repository to load (`--revision`); defaults to the catalog's pin for
   * a model that runs remote code, else the repository's main branch.
   */
  revision: z.string().regex(COMMIT_SHA, { message: 'a 40-hex commit id (a branch or tag can move)' }).optional(),
  /** Commit of the repository holding a remote-code model's Python (`--code-revision`); defaults to the catalog's pin. */
  codeRevision: z.string().regex(COMMIT_SHA, { message: 'a 40-hex commit id (a branch or tag can move)' }).optional(),
  /** `--served-model-name`; defaults to the catalog's name for the model. */
  servedModelName: z.string().regex(/^[A-Za-z0-9._-]+$/, { message: 'letters, digits, dot, dash and underscore' }).optional(),
  /** `--max-model-len`. */
  maxModelLen: int(256, 1_048_576),
  /** `--max-num-batched-tokens`: must be at least maxModelLen. */
  maxNumBatchedTokens: int(256, 1_048_576),
  /** `--max-num-seqs`. */
  maxNumSeqs: int(1, 4096),
  /** `--kv-cache-dtype`. */
  kvCacheDtype: z.enum(KV_CACHE_DTYPES),
  /** `--gpu-memory-utilization`: at most 0.95 leaves room for the CUDA context and other processes. */
  gpuMemoryUtilization: z.preprocess(coerceNumber, z.number().gt(0).max(0.95)),
};

const routerServerSchema = z.strictObject(serverFields);

/**
 * Boot and disk settings every fleet has. The grace is capped at one hour because a rolling update
 * waits at most PT1H (CloudFormation's limit on PauseTime) for a new instance's success signal: a
 * longer boot would fail, and roll back, every update of the fleet.
 */
const fleetBootFields = {
  /**
   * Seconds from launch before load balancer health checks count, and how long a rolling update or
   * the stack creation waits for the instance's success signal: image pull, weight download and
   * load (defaults from lib/config/boot-time.ts). Also the scaling policies' instance warm-up.
   */
  healthCheckGraceSeconds: int(60, 3_600),
  /** Root EBS volume (gp3, encrypted) in GiB: the vLLM image plus the weights. */
  rootVolumeGiB: int(50, 16_384),
  /** Provisioned gp3 throughput; above 125 MiB/s it is billed per MiB/s-month. */
  rootVolumeThroughputMiBps: int(GP3_LIMITS.baselineThroughputMiBps, GP3_LIMITS.maxThroughputMiBps),
  /** Provisioned gp3 IOPS; above 3,000 it is billed per IOPS-month. */
  rootVolumeIops: int(GP3_LIMITS.baselineIops, GP3_LIMITS.maxIops),
};

/** One model tier: a fleet of identical instances serving one model. */
const tierSchema = z.strictObject({
  /** Tier name: used in metric dimensions, construct ids and `x-route-tier`. */
  name: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, { message: 'a lowercase name of up to 16 letters, digits and dashes' })
    .refine((n) => n !== ROUTER_FLEET_NAME, { message: `a name other than "${ROUTER_FLEET_NAME}"` }),
  instanceType: instanceType(),
  ...serverFields,
  /** `--tensor-parallel-size`: must divide the instance's GPU count. */
  tensorParallelSize: int(1, 8),
  minCapacity: int(0, 100),
  maxCapacity: int(1, 100),
  /** Min capacity during business hours (scheduled actions); must be within [minCapacity, maxCapacity]. */
  businessHoursMinCapacity: int(0, 100),
  /** USD per 1k output tokens, for the estimated-cost metric and the planner. */
  pricePer1kOutputTokensUsd: z.preprocess(coerceNumber, z.number().positive()),
  /** This tier's target tracking target as a fraction of maxNumSeqs, instead of scaling.targetLoadFraction. */
  targetLoadFraction: z.preprocess(coerceNumber, z.number().gt(0).max(1)).optional(),
  /**
   * What the proxy does with a request for this tier while the tier has no capacity (its load
   * balancer has no healthy target, as while it scales from zero): `spill` it to the next larger
   * tier (pay more rather than fail), or `hold` it until capacity appears.
   */
  whenEmpty: z.enum(['hold', 'spill']),
  /** Longest time the proxy holds a request for this tier, s; below the public load balancer's idle timeout. */
  maxHoldSeconds: int(1, 3_600),
  /** Requests each proxy task holds for this tier at most; one more gets 503 with Retry-After at once. */
  holdQueueSize: int(1, 100_000),
  ...fleetBootFields,
});

/** The validated configuration of one environment. */
export const envConfigSchema = z.strictObject({
  /** Environment name (dev, staging, prod, ...): names the stack, the namespace and every alarm. */
  envName: z.string().regex(/^[a-z][a-z0-9-]{0,23}$/, { message: 'a lowercase name of up to 24 letters, digits and dashes' }),
  /** AWS account id; empty deploys to the account of the current credentials. */
  account: z.string().regex(/^\d{12}$/, { message: 'a 12-digit AWS account id' }).optional(),
  /** AWS region of the environment stack. */
  region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { message: 'an AWS region such as us-east-1' }),
  network: z.strictObject({
    /** Existing VPC to use instead of creating one; then the subnet ids are required. */
    vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, { message: 'a VPC id such as vpc-0123456789abcdef0' }).optional(),
    /** Private subnets of the existing VPC (GPU instances, proxy tasks, internal ALB). */
    privateSubnetIds: stringList(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { message: 'a subnet id' })).optional(),
    /** Public subnets of the existing VPC (public ALB). */
    publicSubnetIds: stringList(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { message: 'a subnet id' })).optional(),
    /** CIDR of a new VPC. */
    cidr: cidr(),
    /** Number of availability zones of a new VPC. */
    azCount: int(2, 6),
    /** AZ names; defaults to the region's first `azCount` zones (a, b, c, ...), so synth needs no lookup. */
    availabilityZones: stringList(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/, { message: 'an AZ name such as us-east-1a' })).optional(),
    /** NAT gateways of a new VPC (1 saves money, one per AZ survives an AZ outage). */
    natGateways: int(1, 6),
  }),
  vllm: z.strictObject({
    /** Tag of the `vllm/vllm-openai` image, pinned. */
    imageTag: z.string().regex(/^v?\d+\.\d+\.\d+([.-][0-9A-Za-z.-]+)?$/, { message: 'a pinned release tag such as v0.11.0' }),
    /** Secrets Manager secret name holding the Hugging Face token (fetched on the instance at boot). */
    huggingFaceTokenSecretName: z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, { message: 'a Secrets Manager secret name' }),
    /** Per-GPU reserve for activations, CUDA graphs and the CUDA context, in GiB (estimate 1.5-3). */
    runtimeReserveGiB: z.preprocess(coerceNumber, z.number().min(0.5).max(16)),
  }),
  router: z.strictObject({
    instanceType: instanceType(),
    minCapacity: int(0, 100),
    maxCapacity: int(1, 100),
    businessHoursMinCapacity: int(0, 100),
    ...fleetBootFields,
    /** The small LLM that rates prompt complexity 0-10. */
    scorer: routerServerSchema,
    /** The embedding model scoring prompts against labelled exemplars (`--runner pooling`). */
    embedding: routerServerSchema,
  }),
  /** Model tiers, cheapest first. */
  tiers: z.array(tierSchema).min(2),
  routing: z.strictObject({
    /** Route to the larger tier when score >= threshold. */
    threshold: fraction(),
    embeddingWeight: fraction(),
    ratingWeight: fraction(),
    /** Characters of the prompt that are scored. */
    truncateChars: int(64, 100_000),
    /** Embedding-only decision when the embedding score is beyond threshold +/- this margin. */
    fastPathMargin: fraction(),
    /** What a math/code signal does: force the large tier, add `keywordBias`, or nothing. */
    keywordPolicy: z.enum(['force', 'bias', 'off']),
    keywordBias: fraction(),
    keywords: keywordList(),
    /** Tier that serves when both scoring calls fail ("pay more rather than fail"). */
    fallbackTier: z.string(),
    scorerTimeoutMs: int(10, 60_000),
    embeddingTimeoutMs: int(10, 60_000),
    /** Honour a client's `x-route-tier` header. */
    allowTierOverride: bool(),
    /** How long an `x-session-id` stays on the larger tier it was routed to. */
    sessionTtlSeconds: int(1, 86_400),
    /**
     * Routing data file of this environment (exemplar prompts and optional learned weights, as
     * `route-eval --emit` writes it), relative to the directory `cdk` runs in. Validated at synth
     * and inlined into the proxy's config. Absent: the file shipped in the proxy image.
     */
    exemplarsFile: z.string().min(1).optional(),
    /** `route` serves the tier the router decides; `shadow` records the decision and serves `shadowServeTier`. */
    mode: z.enum(ROUTING_MODES),
    /** Tier serving the router's requests in shadow mode; absent: the largest tier. */
    shadowServeTier: z.string().optional(),
    /** Share of the requests decided for a smaller tier also answered by the largest tier and stored (0: off, no bucket). */
    shadowSampleRate: fraction(),
    /** Shadow requests in flight per proxy task at most; beyond it a sample is dropped and counted. */
    shadowMaxConcurrent: int(1, 64),
    /** `max_tokens` cap of a shadow request. */
    shadowMaxTokens: int(1, 1_000_000),
    /** Characters of each answer kept in a stored pair. */
    shadowMaxCaptureChars: int(100, 1_000_000),
    /** Days a stored pair is kept before S3 deletes it. */
    shadowRetentionDays: int(1, 3_650),
  }),
  /** Longest non-streamed generation: sizes ALB idle timeouts and proxy deadlines. */
  longestGenerationSeconds: int(30, 3_600),
  scaling: z.strictObject({
    /** Burst scale-out: add an instance when waiting requests per instance reach this for `scaleOutEvaluationSeconds`. */
    queueDepthScaleOut: num().pipe(z.number().positive()),
    /** Add a larger step when waiting requests per instance reach this. */
    queueDepthScaleOutLarge: num().pipe(z.number().positive()),
    /** Seconds at or above the threshold before scaling out (10 s datapoints). */
    scaleOutEvaluationSeconds: int(10, 600).refine((s) => s % 10 === 0, { message: 'a multiple of 10' }),
    /** Target of (running + waiting) requests per instance, as a fraction of the servers' maxNumSeqs. */
    targetLoadFraction: z.preprocess(coerceNumber, z.number().gt(0).max(1)),
    /** Period of target tracking's load metric: 10, 30 or 60 s (the periods target tracking accepts). */
    loadTrackingPeriodSeconds: z.preprocess(coerceNumber, z.number().refine((n) => (LOAD_TRACKING_PERIODS as readonly number[]).includes(n), {
      message: `one of ${LOAD_TRACKING_PERIODS.join(', ')} (the periods target tracking accepts)`,
    })),
    /** While waiting requests per instance are at or above this, target tracking never scales in. */
    queueDepthBlocksScaleIn: num().pipe(z.number().positive()),
    /** Requests per minute that found a tier at zero instances without capacity and start its first instance. */
    noCapacityRequestsScaleFromZero: int(1, 1_000_000),
    /**
     * A tier whose minimum is 0 scales to zero only after this many minutes with no request routed to
     * it; longer than the longest generation, so no request still runs then.
     */
    idleMinutesBeforeZero: int(1, 1_440),
  }),
  /**
   * The one schedule of the environment: fleets raise their minimum to businessHoursMinCapacity during
   * business hours (when enabled), and pre-warm runs in every other hour of the week.
   */
  businessHours: z.strictObject({
    /** Raise each fleet's minimum to its businessHoursMinCapacity during business hours. */
    enabled: bool(),
    /** IANA time zone of the business hours and of every schedule derived from them. */
    timeZone: z.string(),
    /** Business days, e.g. MON,TUE,WED,THU,FRI. */
    days: stringList(z.enum(WEEKDAYS)).pipe(z.array(z.enum(WEEKDAYS)).min(1)),
    /** First business hour, 0-23. */
    startHour: int(0, 23),
    /** Hour business ends, 1-24 and after startHour: the minimum drops back at this hour. */
    endHour: int(1, 24),
  }),
  prewarm: z.strictObject({
    enabled: bool(),
    /** Minutes between runs in every hour outside business hours: a divisor of 60. */
    intervalMinutes: z.preprocess(coerceNumber, z.number().refine((n) => (PREWARM_INTERVALS as readonly number[]).includes(n), {
      message: `one of ${PREWARM_INTERVALS.join(', ')} (a divisor of 60)`,
    })),
    /** Per-instance warm-up request timeout. */
    timeoutMs: int(100, 120_000),
  }),
  alarms: z.strictObject({
    /** Addresses subscribed to the alarm topic (each must confirm by email). */
    emails: stringList(z.string().regex(EMAIL, { message: 'an email address' })),
    monthlyBudgetUsd: z.preprocess(coerceNumber, z.number().positive()),
    /** Cost Anomaly Detection: alert when an anomaly's total impact exceeds this. */
    anomalyThresholdUsd: z.preprocess(coerceNumber, z.number().positive()),
    /** Alarm when the large tier takes more than this share of routed requests over 15 minutes. */
    largeTierShareLimit: fraction(),
    /** Alarm when scoring fallbacks exceed this share of routed requests. */
    fallbackRateLimit: fraction(),
    /** Alarm when waiting requests per instance exceed this for 2 minutes. */
    queueDepthWaiting: num().pipe(z.number().positive()),
    /** p99 time to first token limit per tier, ms. */
    p99TimeToFirstTokenMs: int(10, 600_000),
    /** p99 end-to-end latency limit per tier, ms. */
    p99EndToEndMs: int(10, 3_600_000),
    /** Alarm when the proxy's 5xx responses exceed this share of requests. */
    proxy5xxRateLimit: fraction(),
    /** Deploy the us-east-1 cost stack (anomaly monitor and budget); off where cost is managed centrally. */
    costGuardEnabled: bool(),
  }),
  proxy: z.strictObject({
    /** Fargate task CPU units. */
    cpu: z.preprocess(coerceNumber, z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)])),
    /** Fargate task memory, MiB. */
    memoryMiB: int(512, 30_720),
    minTasks: int(1, 100),
    maxTasks: int(1, 100),
    /** ACM certificate for the HTTPS listener; required unless allowHttp. */
    certificateArn: z.string().regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, { message: 'an ACM certificate ARN' }).optional(),
    /**
     * DNS name clients use (the certificate's name), pointed at the public ALB by the operator; the
     * endpoint URL output uses it. Absent: the output shows the ALB's own DNS name.
     */
    domainName: z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { message: 'a lower-case DNS name such as llm.example.com' }).optional(),
    /** Serve plain HTTP when no certificate is set (development only). */
    allowHttp: bool(),
    /** Client CIDRs admitted by the public ALB. */
    allowedCidrs: stringList(cidr()).pipe(z.array(z.string()).min(1)),
    /** Existing Secrets Manager secret (by name) holding the client API keys; created when absent. */
    apiKeysSecretName: z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, { message: 'a Secrets Manager secret name' }).optional(),
    /** Service autoscaling target: average CPU percent. */
    targetCpuPercent: int(10, 95),
    /** Service autoscaling target: ALB requests per task per minute. */
    requestsPerTarget: int(1, 1_000_000),
    wafEnabled: bool(),
    /**
     * Who reaches the proxy's `/readyz` and `/metrics` through the public load balancer: `private`
     * (nobody: the listener answers 404; callers inside the VPC reach the tasks directly), `apiKey`
     * (forwarded; the proxy asks internet callers for an API key), or `public` (forwarded, open).
     */
    opsEndpoints: z.enum(OPS_ENDPOINTS),
    /** WAF rate-based rule: requests per 5 minutes per client IP. */
    wafRateLimit: int(100, 2_000_000_000),
  }),
  /** CloudWatch Logs retention for every log group of the environment. */
  logRetentionDays: z.preprocess(coerceNumber, z.number().refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
    message: `one of ${LOG_RETENTION_DAYS.join(', ')}`,
  })),
  /** The planner's monthly workload. */
  workload: z.strictObject({
    requestsPerMonth: int(1, 1e12),
    outputTokensPerRequest: int(1, 1_000_000),
    largeShare: fraction(),
  }),
  /** Tags on every resource (Project and Environment are always added). */
  tags: z.preprocess(coerceRecord, z.record(z.string().regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u), z.string().max(256))),
}).superRefine((cfg, ctx) => {
  const add = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const capacity = (path: (string | number)[], min: number, max: number, business: number) => {
    if (min > max) {
      // The business-hours bound would only repeat this problem.
      add([...path, 'maxCapacity'], `got ${max}, expected >= minCapacity (${min})`);
      return;
    }
    if (business < min || business > max) {
      add([...path, 'businessHoursMinCapacity'], `got ${business}, expected between minCapacity (${min}) and maxCapacity (${max})`);
    }
  };
  const reserve = cfg.vllm.runtimeReserveGiB;
  const checkServer = (path: (string | number)[], s: z.infer<typeof routerServerSchema>, instance: string, tp: number) => {
    if (!(instance in INSTANCE_CATALOG) || !(s.model in MODEL_CATALOG)) return;
    const model = MODEL_CATALOG[s.model];
    if (!model.builds[s.weightFormat] && !s.hubModelId) {
      add([...path, 'weightFormat'], `got "${s.weightFormat}", expected a format ${s.model} ships in (${Object.keys(model.builds).join(', ')}) or an explicit hubModelId`);
      return;
    }
    if (s.maxModelLen > model.maxContext) {
      // The batch size and the memory fit measured against an impossible length would only repeat it.
      add([...path, 'maxModelLen'], `got ${s.maxModelLen}, expected <= ${model.maxContext} (the context length of ${s.model})`);
      return;
    }
    if (s.maxNumBatchedTokens < s.maxModelLen) {
      add([...path, 'maxNumBatchedTokens'], `got ${s.maxNumBatchedTokens}, expected >= maxModelLen (${s.maxModelLen})`);
    }
    const pins = pinnedRevisions(model, s);
    const hubId = s.hubModelId ?? model.builds[s.weightFormat];
    if (model.remoteCode && !pins.revision) {
      add([...path, 'revision'], `got nothing, expected the 40-hex commit of ${hubId} to load (${s.model} runs code from the hub with --trust-remote-code; the catalog pins only its own builds)`);
    }
    if (model.remoteCode && !pins.codeRevision) {
      add([...path, 'codeRevision'], `got nothing, expected the 40-hex commit of the repository ${hubId}'s config takes its code from (${s.model} runs it with --trust-remote-code)`);
    }
    if (!model.remoteCode && s.codeRevision) {
      add([...path, 'codeRevision'], `got "${s.codeRevision}", expected nothing: ${s.model} runs no remote code`);
    }
    const gpus = INSTANCE_CATALOG[instance].gpus;
    if (gpus % tp !== 0 || tp > gpus) {
      add([...path, 'tensorParallelSize'], `got ${tp}, expected a divisor of the ${gpus} GPU(s) of ${instance}`);
      return;
    }
    const input: ServerFitInput = { instanceType: instance, model: s.model, weightFormat: s.weightFormat, tensorParallelSize: tp, gpuMemoryUtilization: s.gpuMemoryUtilization, maxModelLen: s.maxModelLen, kvCacheDtype: s.kvCacheDtype, runtimeReserveGiB: reserve };
    const fit = planServer(input);
    if (!fit.fits) add([...path], misfitMessage(input, fit));
  };

  const volume = (path: (string | number)[], f: { rootVolumeGiB: number; rootVolumeThroughputMiBps: number; rootVolumeIops: number }) => {
    // A value outside its own range is reported once, by its range.
    if (f.rootVolumeThroughputMiBps > GP3_LIMITS.maxThroughputMiBps || f.rootVolumeIops > GP3_LIMITS.maxIops) return;
    for (const [field, message] of gp3Problems(f.rootVolumeGiB, f.rootVolumeThroughputMiBps, f.rootVolumeIops)) add([...path, field], message);
  };

  if (cfg.scaling.idleMinutesBeforeZero * 60 <= cfg.longestGenerationSeconds) {
    add(['scaling', 'idleMinutesBeforeZero'], `got ${cfg.scaling.idleMinutesBeforeZero}, expected more than longestGenerationSeconds / 60 (${cfg.longestGenerationSeconds / 60}): a tier must not go to zero under a request still generating`);
  }
  capacity(['router'], cfg.router.minCapacity, cfg.router.maxCapacity, cfg.router.businessHoursMinCapacity);
  volume(['router'], cfg.router);
  checkServer(['router', 'scorer'], cfg.router.scorer, cfg.router.instanceType, 1);
  checkServer(['router', 'embedding'], cfg.router.embedding, cfg.router.instanceType, 1);
  const share = cfg.router.scorer.gpuMemoryUtilization + cfg.router.embedding.gpuMemoryUtilization;
  if (share > 0.95) {
    add(['router', 'embedding', 'gpuMemoryUtilization'], `got ${cfg.router.embedding.gpuMemoryUtilization}, expected scorer + embedding shares <= 0.95 (now ${share.toFixed(2)})`);
  }
  if (MODEL_CATALOG[cfg.router.embedding.model]?.runner === 'generate') {
    add(['router', 'embedding', 'model'], `got "${cfg.router.embedding.model}", expected an embedding model (${MODEL_NAMES.filter((m) => MODEL_CATALOG[m].runner === 'pooling').join(', ')})`);
  }
  if (MODEL_CATALOG[cfg.router.scorer.model]?.runner === 'pooling') {
    add(['router', 'scorer', 'model'], `got "${cfg.router.scorer.model}", expected a generative model`);
  }

  const names = new Set<string>();
  cfg.tiers.forEach((tier, i) => {
    if (names.has(tier.name)) add(['tiers', i, 'name'], `got "${tier.name}" twice, expected unique tier names`);
    names.add(tier.name);
    capacity(['tiers', tier.name], tier.minCapacity, tier.maxCapacity, tier.businessHoursMinCapacity);
    volume(['tiers', tier.name], tier);
    if (MODEL_CATALOG[tier.model]?.runner === 'pooling') {
      add(['tiers', tier.name, 'model'], `got "${tier.model}", expected a generative model`);
      return;
    }
    checkServer(['tiers', tier.name], tier, tier.instanceType, tier.tensorParallelSize);
  });

  // A held non-streamed request sends nothing until its answer: the proxy's own 503 at the end of a
  // hold must reach the client before the public load balancer drops the idle connection.
  if (Number.isInteger(cfg.longestGenerationSeconds) && cfg.longestGenerationSeconds >= 1) {
    const idle = proxyTimings(cfg.longestGenerationSeconds).loadBalancerIdleTimeoutSeconds;
    for (const tier of cfg.tiers) {
      if (tier.maxHoldSeconds >= idle) {
        add(['tiers', tier.name, 'maxHoldSeconds'], `got ${tier.maxHoldSeconds}, expected < ${idle} (the public load balancer's idle timeout, longestGenerationSeconds + 60)`);
      }
    }
  }

  const r = cfg.routing;
  if (Math.abs(r.embeddingWeight + r.ratingWeight - 1) > 1e-9) {
    add(['routing', 'ratingWeight'], `got ${r.ratingWeight} with embeddingWeight ${r.embeddingWeight}, expected the two weights to sum to 1`);
  }
  if (r.exemplarsFile !== undefined) {
    const why = routingDataFileProblem(r.exemplarsFile);
    if (why) add(['routing', 'exemplarsFile'], `got ${formatValue(r.exemplarsFile)}, expected ${why}`);
    else {
      const bytes = Buffer.byteLength(JSON.stringify(JSON.parse(readFileSync(r.exemplarsFile, 'utf8'))));
      if (bytes > MAX_INLINE_ROUTING_DATA_BYTES) {
        add(['routing', 'exemplarsFile'], `got ${formatValue(r.exemplarsFile)} of ${bytes} bytes, expected at most ${MAX_INLINE_ROUTING_DATA_BYTES} bytes of JSON (it is inlined into the task definition, which holds at most 64 KiB)`);
      }
    }
  }
  if (r.shadowServeTier !== undefined && !names.has(r.shadowServeTier)) {
    add(['routing', 'shadowServeTier'], `got ${formatValue(r.shadowServeTier)}, expected a tier name${didYouMean(r.shadowServeTier, [...names])} (one of ${[...names].join(', ')})`);
  }
  if (!names.has(r.fallbackTier)) {
    add(['routing', 'fallbackTier'], `got ${formatValue(r.fallbackTier)}, expected a tier name${didYouMean(r.fallbackTier, [...names])} (one of ${[...names].join(', ')})`);
  }

  const s = cfg.scaling;
  if (s.queueDepthScaleOutLarge <= s.queueDepthScaleOut) {
    add(['scaling', 'queueDepthScaleOutLarge'], `got ${s.queueDepthScaleOutLarge}, expected > queueDepthScaleOut (${s.queueDepthScaleOut})`);
  }
  // The queue step policy must fire only where target tracking cannot scale in.
  if (s.queueDepthBlocksScaleIn > s.queueDepthScaleOut) {
    add(['scaling', 'queueDepthBlocksScaleIn'], `got ${s.queueDepthBlocksScaleIn}, expected <= queueDepthScaleOut (${s.queueDepthScaleOut})`);
  }
  const bh = cfg.businessHours;
  if (!isValidTimeZone(bh.timeZone)) {
    add(['businessHours', 'timeZone'], `got ${formatValue(bh.timeZone)}, expected an IANA time zone such as America/New_York`);
  }
  if (bh.endHour <= bh.startHour) {
    add(['businessHours', 'endHour'], `got ${bh.endHour}, expected > startHour (${bh.startHour})`);
  }
  const duplicates = bh.days.filter((d, i) => bh.days.indexOf(d) !== i);
  if (duplicates.length > 0) {
    add(['businessHours', 'days'], `got ${formatValue(bh.days)}, expected each day once (${[...new Set(duplicates)].join(', ')} twice)`);
  }
  if (cfg.prewarm.enabled && bh.enabled && bh.days.length === 7 && bh.startHour === 0 && bh.endHour === 24) {
    add(['businessHours'], 'got business hours around the clock every day, expected at least one hour outside them for pre-warm (or prewarm.enabled false)');
  }

  const n = cfg.network;
  if (n.vpcId && (!n.privateSubnetIds?.length || !n.publicSubnetIds?.length)) {
    add(['network', 'privateSubnetIds'], `got ${formatValue(n.privateSubnetIds)} and publicSubnetIds ${formatValue(n.publicSubnetIds)}, expected both subnet lists with an existing vpcId`);
  }
  if (n.availabilityZones) {
    if (n.availabilityZones.length < n.azCount) {
      add(['network', 'availabilityZones'], `got ${n.availabilityZones.length} zones, expected at least azCount (${n.azCount})`);
    }
    const foreign = n.availabilityZones.filter((az) => !az.startsWith(cfg.region));
    if (foreign.length > 0) {
      add(['network', 'availabilityZones'], `got ${formatValue(foreign)}, expected zones of region ${cfg.region}`);
    }
  }

  const p = cfg.proxy;
  if (p.minTasks > p.maxTasks) add(['proxy', 'maxTasks'], `got ${p.maxTasks}, expected >= minTasks (${p.minTasks})`);
  if (!p.certificateArn && !p.allowHttp) {
    add(['proxy', 'certificateArn'], 'got nothing, expected an ACM certificate ARN (or proxy.allowHttp true for a development environment)');
  }
  if (cfg.envName === 'prod' && p.minTasks < 2) {
    add(['proxy', 'minTasks'], `got ${p.minTasks}, expected >= 2 in prod (one task per AZ)`);
  }
});

/** The validated configuration of one environment. */
export type EnvConfig = z.infer<typeof envConfigSchema>;
/** One validated tier. */
export type TierConfig = EnvConfig['tiers'][number];
/** One validated router server (scorer or embedding). */
export type RouterServerConfig = EnvConfig['router']['scorer'];
