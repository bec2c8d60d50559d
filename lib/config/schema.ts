/**
 * The shape of one environment's configuration, and every rule a value must satisfy. Parsed once,
 * at the edge (bin/app.ts and the planner), before any construct is built.
 */
import { z } from 'zod';
import { INSTANCE_CATALOG, INSTANCE_TYPES } from '../catalog/instances';
import { KV_CACHE_DTYPES, MODEL_CATALOG, MODEL_NAMES, WEIGHT_FORMATS } from '../catalog/models';
import { misfitMessage, planServer, ServerFitInput } from '../catalog/fit';
import { ROUTER_FLEET_NAME } from '../../contracts/metrics';
import { isValidAwsScheduleExpression, isValidTimeZone, isValidUnixCron } from './schedule';
import { didYouMean, formatValue } from '../../contracts/validation';
import { proxyTimings } from '../proxy-config/timings';

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

const CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;
const cidr = () => z.string().regex(CIDR, { message: 'an IPv4 CIDR such as 10.40.0.0/16' });
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

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
  /** Root EBS volume (gp3, encrypted) in GiB: the vLLM image plus the weights. */
  rootVolumeGiB: int(50, 16_384),
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
    rootVolumeGiB: int(50, 16_384),
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
    keywords: stringList(z.string().min(1)),
    /** Tier that serves when both scoring calls fail ("pay more rather than fail"). */
    fallbackTier: z.string(),
    scorerTimeoutMs: int(10, 60_000),
    embeddingTimeoutMs: int(10, 60_000),
    /** Honour a client's `x-route-tier` header. */
    allowTierOverride: bool(),
    /** How long an `x-session-id` stays on the larger tier it was routed to. */
    sessionTtlSeconds: int(1, 86_400),
  }),
  /** Longest non-streamed generation: sizes ALB idle timeouts and proxy deadlines. */
  longestGenerationSeconds: int(30, 3_600),
  scaling: z.strictObject({
    /** Scale out when per-instance waiting requests exceed this for `scaleOutEvaluationSeconds`. */
    queueDepthScaleOut: num().pipe(z.number().positive()),
    /** Add a larger step when waiting requests per instance exceed this. */
    queueDepthScaleOutLarge: num().pipe(z.number().positive()),
    /** Seconds above the threshold before scaling out (10 s datapoints). */
    scaleOutEvaluationSeconds: int(10, 600).refine((s) => s % 10 === 0, { message: 'a multiple of 10' }),
    /** Scale in when waiting requests per instance stay below this for `scaleInMinutes`. */
    queueDepthScaleIn: num().pipe(z.number().min(0)),
    scaleInMinutes: int(1, 120),
    /** Target running requests per instance as a fraction of maxNumSeqs. */
    targetRunningFraction: z.preprocess(coerceNumber, z.number().gt(0).max(1)),
    scaleOutCooldownSeconds: int(0, 3_600),
    scaleInCooldownSeconds: int(0, 3_600),
    /** Grace before ELB health checks count: image pull plus weight download and load. */
    healthCheckGraceSeconds: int(60, 7_200),
    /** In-flight requests per tier (proxy metric) that scale a tier out from zero. */
    pendingRequestsScaleFromZero: num().pipe(z.number().positive()),
    businessHours: z.strictObject({
      enabled: bool(),
      /** IANA time zone of the schedule. */
      timeZone: z.string(),
      /** Unix cron (5 fields) raising min capacity, e.g. `0 8 * * 1-5`. */
      startCron: z.string(),
      /** Unix cron (5 fields) lowering it again. */
      endCron: z.string(),
    }),
  }),
  prewarm: z.strictObject({
    enabled: bool(),
    /** EventBridge Scheduler expression: `cron(...)` with 6 fields, or `rate(...)`. */
    scheduleExpression: z.string(),
    /** IANA time zone of the schedule. */
    timeZone: z.string(),
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
    if (min > max) add([...path, 'maxCapacity'], `got ${max}, expected >= minCapacity (${min})`);
    if (business < min || business > max) {
      add([...path, 'businessHoursMinCapacity'], `got ${business}, expected between minCapacity (${min}) and maxCapacity (${max})`);
    }
  };
  const reserve = cfg.vllm.runtimeReserveGiB;
  const checkServer = (path: (string | number)[], s: z.infer<typeof routerServerSchema>, instance: string, tp: number) => {
    if (!(instance in INSTANCE_CATALOG) || !(s.model in MODEL_CATALOG)) return;
    if (s.maxNumBatchedTokens < s.maxModelLen) {
      add([...path, 'maxNumBatchedTokens'], `got ${s.maxNumBatchedTokens}, expected >= maxModelLen (${s.maxModelLen})`);
    }
    const model = MODEL_CATALOG[s.model];
    if (!model.builds[s.weightFormat] && !s.hubModelId) {
      add([...path, 'weightFormat'], `got "${s.weightFormat}", expected a format ${s.model} ships in (${Object.keys(model.builds).join(', ')}) or an explicit hubModelId`);
      return;
    }
    if (s.maxModelLen > model.maxContext) {
      add([...path, 'maxModelLen'], `got ${s.maxModelLen}, expected <= ${model.maxContext} (the context length of ${s.model})`);
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

  capacity(['router'], cfg.router.minCapacity, cfg.router.maxCapacity, cfg.router.businessHoursMinCapacity);
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
  if (!names.has(r.fallbackTier)) {
    add(['routing', 'fallbackTier'], `got ${formatValue(r.fallbackTier)}, expected a tier name${didYouMean(r.fallbackTier, [...names])} (one of ${[...names].join(', ')})`);
  }

  const s = cfg.scaling;
  if (s.queueDepthScaleOutLarge <= s.queueDepthScaleOut) {
    add(['scaling', 'queueDepthScaleOutLarge'], `got ${s.queueDepthScaleOutLarge}, expected > queueDepthScaleOut (${s.queueDepthScaleOut})`);
  }
  if (s.queueDepthScaleIn >= s.queueDepthScaleOut) {
    add(['scaling', 'queueDepthScaleIn'], `got ${s.queueDepthScaleIn}, expected < queueDepthScaleOut (${s.queueDepthScaleOut})`);
  }
  if (!isValidTimeZone(s.businessHours.timeZone)) {
    add(['scaling', 'businessHours', 'timeZone'], `got ${formatValue(s.businessHours.timeZone)}, expected an IANA time zone such as America/New_York`);
  }
  for (const key of ['startCron', 'endCron'] as const) {
    if (!isValidUnixCron(s.businessHours[key])) {
      add(['scaling', 'businessHours', key], `got ${formatValue(s.businessHours[key])}, expected a 5-field cron expression such as "0 8 * * 1-5"`);
    }
  }
  if (!isValidTimeZone(cfg.prewarm.timeZone)) {
    add(['prewarm', 'timeZone'], `got ${formatValue(cfg.prewarm.timeZone)}, expected an IANA time zone such as America/New_York`);
  }
  if (!isValidAwsScheduleExpression(cfg.prewarm.scheduleExpression)) {
    add(['prewarm', 'scheduleExpression'], `got ${formatValue(cfg.prewarm.scheduleExpression)}, expected cron(minutes hours day-of-month month day-of-week year) or rate(N minutes)`);
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
