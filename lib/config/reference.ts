/**
 * The configuration reference: every key of the schema with its default, the per-environment
 * values `cdk.json` sets, and one line of meaning. The README's key table is generated from it
 * (`npm run config-reference`) and a test keeps the two equal, so the manual cannot drift.
 */
import type { z } from 'zod';
import { unwrapSchema } from '../../contracts/validation';
import { DEFAULTS } from './defaults';
import { envConfigSchema } from './schema';

/** One configuration key. */
export interface ConfigKey {
  /** Dotted path; `tiers.*.x` stands for a key of every tier. */
  readonly path: string;
  /** The key may be left out (no default). */
  readonly optional: boolean;
}

type Def = { type?: string; shape?: Record<string, unknown>; element?: unknown; in?: unknown; out?: unknown; innerType?: unknown; schema?: unknown };

function isOptional(node: unknown): boolean {
  let cur = node as { def?: Def } | undefined;
  for (let i = 0; i < 12 && cur?.def; i++) {
    if (cur.def.type === 'optional') return true;
    const def = cur.def;
    cur = (def.type === 'pipe' ? def.out : def.innerType ?? def.schema) as typeof cur;
  }
  return false;
}

/** Every leaf key of the schema, in schema order; lists of objects (tiers) as `name.*.leaf`. */
export function configKeys(schema: z.ZodType = envConfigSchema): ConfigKey[] {
  const out: ConfigKey[] = [];
  const walk = (node: unknown, path: string[]) => {
    const u = unwrapSchema(node) as { def?: Def } | undefined;
    if (u?.def?.type === 'object') {
      for (const [key, child] of Object.entries(u.def.shape ?? {})) walk(child, [...path, key]);
      return;
    }
    if (u?.def?.type === 'array' && unwrapSchema(u.def.element)?.def?.type === 'object') {
      walk(u.def.element, [...path, '*']);
      return;
    }
    out.push({ path: path.join('.'), optional: isOptional(node) });
  };
  walk(schema, []);
  return out.filter((k) => k.path !== 'envName');
}

/** Meaning of every key, one line each. `configKeys()` and this map must list the same keys. */
export const KEY_MEANINGS: Readonly<Record<string, string>> = {
  account: 'AWS account id; empty deploys to the account of the current credentials',
  region: 'region of the environment stack',
  'network.vpcId': 'use an existing VPC instead of creating one (then both subnet lists are required)',
  'network.privateSubnetIds': 'private subnets of the existing VPC (GPU instances, proxy tasks, internal ALB)',
  'network.publicSubnetIds': 'public subnets of the existing VPC (public ALB)',
  'network.cidr': 'CIDR of a new VPC',
  'network.azCount': 'availability zones of a new VPC',
  'network.availabilityZones': 'AZ names (default: the region\'s first `azCount` zones, so synth needs no lookup)',
  'network.natGateways': 'NAT gateways of a new VPC (one per AZ survives an AZ outage)',
  'vllm.imageTag': 'pinned tag of the `vllm/vllm-openai` image',
  'vllm.huggingFaceTokenSecretName': 'Secrets Manager secret holding the Hugging Face token, read on the instance at boot',
  'vllm.runtimeReserveGiB': 'per-GPU reserve for activations, CUDA graphs and the CUDA context (estimate 1.5-3)',
  'router.instanceType': 'instance type of the router fleet (scorer and embedding servers share its GPU)',
  'router.minCapacity': 'router fleet minimum',
  'router.maxCapacity': 'router fleet maximum',
  'router.businessHoursMinCapacity': 'router fleet minimum during business hours',
  'router.rootVolumeGiB': 'encrypted gp3 root volume of a router instance',
  'router.rootVolumeThroughputMiBps': 'provisioned gp3 throughput of the root volume (speeds up the image unpack)',
  'router.rootVolumeIops': 'provisioned gp3 IOPS of the root volume',
  'router.healthCheckGraceSeconds': 'boot time allowed: health-check grace, instance warm-up, signal timeout (estimate x 1.5, `lib/config/boot-time.ts`)',
  'router.scorer': 'the small LLM that rates prompt complexity 0-10 (vLLM flags as for a tier)',
  'router.embedding': 'the embedding model that scores prompts against exemplars (`--runner pooling`)',
  'tiers.*.name': 'tier name: metric dimension, construct ids, `x-route-tier`',
  'tiers.*.instanceType': 'any type in `lib/catalog/instances.ts`',
  'tiers.*.model': 'a model in `lib/catalog/models.ts`',
  'tiers.*.weightFormat': '`bf16`, `fp8` or `awq-int4`: picks the Hugging Face build',
  'tiers.*.hubModelId': 'override the Hugging Face repository',
  'tiers.*.revision': 'Hugging Face commit of the weights (40 hex; required with remote code)',
  'tiers.*.codeRevision': 'Hugging Face commit of the remote code (40 hex; required with remote code)',
  'tiers.*.servedModelName': 'model name clients may send (`--served-model-name`)',
  'tiers.*.maxModelLen': '`--max-model-len`',
  'tiers.*.maxNumBatchedTokens': '`--max-num-batched-tokens` (>= maxModelLen)',
  'tiers.*.maxNumSeqs': '`--max-num-seqs`',
  'tiers.*.tensorParallelSize': '`--tensor-parallel-size` (divides the GPU count)',
  'tiers.*.kvCacheDtype': '`--kv-cache-dtype`',
  'tiers.*.gpuMemoryUtilization': '`--gpu-memory-utilization` (<= 0.95)',
  'tiers.*.minCapacity': 'fleet minimum (0 starts the tier on demand)',
  'tiers.*.maxCapacity': 'fleet maximum',
  'tiers.*.businessHoursMinCapacity': 'fleet minimum during business hours',
  'tiers.*.pricePer1kOutputTokensUsd': 'USD per 1k output tokens: per-tier cost attribution and the planner',
  'tiers.*.targetLoadFraction': 'this tier\'s target tracking target as a share of maxNumSeqs, instead of `scaling.targetLoadFraction` (large: 0.6)',
  'tiers.*.whenEmpty': 'while the tier has no capacity (no healthy instance): `spill` its requests to another tier (larger ones first), or `hold` them until it has',
  'tiers.*.maxHoldSeconds': 'longest hold of a request for the empty tier (then 503 with Retry-After); below the public load balancer\'s idle timeout',
  'tiers.*.holdQueueSize': 'requests each proxy task holds for the tier at most (one more gets 503 at once)',
  'tiers.*.rootVolumeGiB': 'encrypted gp3 root volume',
  'tiers.*.rootVolumeThroughputMiBps': 'provisioned gp3 throughput of the root volume',
  'tiers.*.rootVolumeIops': 'provisioned gp3 IOPS of the root volume',
  'tiers.*.healthCheckGraceSeconds': 'boot time allowed: health-check grace, instance warm-up, signal timeout; the slowest tier\'s also sizes how long a stream may wait for its first token',
  'routing.threshold': 'route to the larger tier when score >= threshold',
  'routing.embeddingWeight': 'weight of the embedding score (sums to 1 with ratingWeight)',
  'routing.ratingWeight': 'weight of the scorer\'s rating / 10',
  'routing.truncateChars': 'characters of system prompt + last user message that are scored',
  'routing.fastPathMargin': 'decide from the embedding alone when it is this far from the threshold',
  'routing.keywordPolicy': 'code fences, math notation and keywords: `force` the large tier, `bias`, or `off`',
  'routing.keywordBias': 'added to the score in `bias` mode',
  'routing.keywords': 'keyword list (comma-separated on the command line)',
  'routing.fallbackTier': 'tier serving when both scoring calls fail ("pay more rather than fail")',
  'routing.scorerTimeoutMs': 'deadline of the rating call',
  'routing.embeddingTimeoutMs': 'deadline of the embedding call',
  'routing.allowTierOverride': 'honour a client\'s `x-route-tier` header',
  'routing.sessionTtlSeconds': 'how long an `x-session-id` stays on the larger tier it reached',
  'routing.exemplarsFile': 'routing data file (exemplars and model weights) inlined into the proxy config; default: the data in the image',
  'routing.mode': '`route` serves the decided tier; `shadow` records each decision (headers, log, `ShadowDecisions`) and serves `shadowServeTier`',
  'routing.shadowServeTier': 'tier serving the router\'s requests in shadow mode (default: the largest tier)',
  'routing.shadowSampleRate': 'share of requests decided for a smaller tier also answered by the largest, both answers stored in S3 (0: off, no bucket)',
  'routing.shadowMaxConcurrent': 'shadow requests in flight per proxy task; a sample beyond it is dropped and counted',
  'routing.shadowMaxTokens': '`max_tokens` cap of a shadow request',
  'routing.shadowMaxCaptureChars': 'characters of each answer kept in a stored pair (longer ones are cut and marked)',
  'routing.shadowRetentionDays': 'days before S3 deletes a stored pair',
  longestGenerationSeconds: 'longest non-streamed generation: sizes ALB idle timeouts and proxy deadlines',
  'scaling.queueDepthScaleOut': 'burst scale-out (adds only): waiting requests per instance at which an instance is added...',
  'scaling.queueDepthScaleOutLarge': '...and two above this',
  'scaling.scaleOutEvaluationSeconds': '...when it lasts this long (10 s datapoints)',
  'scaling.targetLoadFraction': 'target tracking, the only policy that scales in: (running + waiting) per instance = this x maxNumSeqs',
  'scaling.loadTrackingPeriodSeconds': 'period of target tracking\'s load metric (10, 30 or 60 s); its scale-in waits for 15 periods under 90% of the target',
  'scaling.queueDepthBlocksScaleIn': 'while waiting requests per instance are at or above this, nothing scales in',
  'scaling.noCapacityRequestsScaleFromZero': 'requests a minute that found a tier at zero and start its first instance',
  'scaling.idleMinutesBeforeZero': 'a tier whose minimum is 0 goes to zero only after this many minutes with no request routed to it or running on it',
  'businessHours.enabled': 'raise each fleet\'s minimum to businessHoursMinCapacity during business hours',
  'businessHours.timeZone': 'IANA time zone of the business hours and of every schedule derived from them',
  'businessHours.days': 'business days',
  'businessHours.startHour': 'first business hour (0-23)',
  'businessHours.endHour': 'hour the minimum drops back (1-24, after startHour)',
  'prewarm.enabled': 'warm every in-service instance outside business hours',
  'prewarm.intervalMinutes': 'minutes between pre-warm runs (a divisor of 60)',
  'prewarm.timeoutMs': 'per-instance warm-up request deadline',
  'alarms.emails': 'subscribed to the alarm topic (each confirms by email)',
  'alarms.monthlyBudgetUsd': 'AWS Budget; its hourly rate is the spend alarm\'s threshold',
  'alarms.anomalyThresholdUsd': 'Cost Anomaly Detection alert threshold (total impact)',
  'alarms.largeTierShareLimit': 'alarm above this large-tier share of routed requests (15 minutes)',
  'alarms.fallbackRateLimit': 'alarm above this share of scoring fallbacks',
  'alarms.queueDepthWaiting': 'alarm when waiting requests per instance exceed this for 2 minutes',
  'alarms.p99TimeToFirstTokenMs': 'p99 time-to-first-token limit per tier',
  'alarms.p99EndToEndMs': 'p99 end-to-end latency limit per tier',
  'alarms.proxy5xxRateLimit': 'alarm above this share of 5xx proxy responses',
  'alarms.costGuardEnabled': 'deploy the us-east-1 cost stack (anomaly monitor and budget)',
  'proxy.cpu': 'Fargate task CPU units',
  'proxy.memoryMiB': 'Fargate task memory',
  'proxy.minTasks': 'service autoscaling minimum (>= 2 in prod)',
  'proxy.maxTasks': 'service autoscaling maximum',
  'proxy.certificateArn': 'ACM certificate of the HTTPS listener (required unless `allowHttp`)',
  'proxy.domainName': 'DNS name clients use (the certificate\'s); sets the endpoint URL output',
  'proxy.allowHttp': 'plain HTTP when there is no certificate (development only)',
  'proxy.allowedCidrs': 'client CIDRs the public ALB admits',
  'proxy.apiKeysSecretName': 'existing Secrets Manager secret with the client API keys (created when absent)',
  'proxy.targetCpuPercent': 'service autoscaling target: average CPU',
  'proxy.requestsPerTarget': 'service autoscaling target: ALB requests per task per minute',
  'proxy.opsEndpoints': '`/metrics` and `/readyz` on the public ALB: `private` (404 there), `apiKey` or `public`',
  'proxy.wafEnabled': 'AWS WAF on the public ALB',
  'proxy.wafRateLimit': 'WAF rate-based rule: requests per 5 minutes per client IP',
  logRetentionDays: 'retention of every log group (a CloudWatch Logs value)',
  'workload.requestsPerMonth': 'planner: requests per month',
  'workload.outputTokensPerRequest': 'planner: output tokens per request',
  'workload.largeShare': 'planner: share of requests routed to the large tier',
  tags: 'extra tags on every resource (`Project` and `Environment` are always set)',
};

/** Keys whose object value is shown on one row (`k v, k v, ...`) instead of one row per leaf. */
const COMPACT_OBJECTS = ['router.scorer', 'router.embedding'] as const;

type Json = Record<string, unknown>;

function at(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Json)[key];
  }
  return node;
}

function show(v: unknown): string {
  if (v === undefined) return 'none';
  if (Array.isArray(v)) {
    if (v.length === 0) return '`[]`';
    const text = v.join(', ');
    return text.length > 60 ? `\`${text.slice(0, 57)}...\` (${v.length})` : `\`${text}\``;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Json);
    return entries.length === 0 ? '`{}`' : entries.map(([k, x]) => `${k} \`${String(x)}\``).join(', ');
  }
  const text = String(v);
  return `\`${text.length > 48 ? `${text.slice(0, 45)}...` : text}\``;
}

/** Per-environment values of a leaf in `cdk.json` that differ from `base`, as ` (dev: x; prod: y)`. */
function overrides(environments: Json, path: string, base: unknown): string {
  const parts: string[] = [];
  for (const [env, cfg] of Object.entries(environments)) {
    const v = at(cfg, path);
    if (v !== undefined && JSON.stringify(v) !== JSON.stringify(base)) parts.push(`${env}: ${show(v).replace(/`/g, '')}`);
  }
  return parts.length ? ` (${parts.join('; ')})` : '';
}

/** The reference tables (markdown) for the given defaults and `cdk.json` environments. */
export function renderConfigReference(environments: Json, defaults: unknown = DEFAULTS): string {
  const keys = configKeys();
  const rows: string[] = ['| key | default (per-environment values in `cdk.json`) | meaning |', '|---|---|---|'];
  const tierRows: string[] = [];
  const tiers = (at(defaults, 'tiers') as Json[]) ?? [];
  const done = new Set<string>();
  for (const key of keys) {
    const compact = COMPACT_OBJECTS.find((c) => key.path.startsWith(`${c}.`));
    const path = compact ?? key.path;
    if (done.has(path)) continue;
    done.add(path);
    const meaning = KEY_MEANINGS[path] ?? '';
    if (path.startsWith('tiers.*.')) {
      const leaf = path.slice('tiers.*.'.length);
      const perTier = tiers.map((t) => {
        const name = String(t.name);
        return show(t[leaf]) + overrides(environments, `tiers.${name}.${leaf}`, t[leaf]);
      });
      tierRows.push(`| \`${leaf}\` | ${perTier.join(' | ')} | ${meaning} |`);
      continue;
    }
    const base = at(defaults, path);
    rows.push(`| \`${path}\` | ${show(base)}${compact ? '' : overrides(environments, path, base)} | ${meaning} |`);
  }
  const tierHeader = [
    `Per tier (\`tiers.<name>.<key>\`, cheapest first; defaults of ${tiers.map((t) => `\`${String(t.name)}\``).join(' and ')}):`,
    '',
    `| key | ${tiers.map((t) => String(t.name)).join(' | ')} | meaning |`,
    `|---|${tiers.map(() => '---|').join('')}---|`,
  ];
  return [...rows, '', ...tierHeader, ...tierRows].join('\n');
}

/** Markers around the generated block in the README. */
export const REFERENCE_MARKERS = { start: '<!-- config-reference:start -->', end: '<!-- config-reference:end -->' } as const;
