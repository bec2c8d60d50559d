/**
 * The routing proxy's runtime configuration: one JSON document, validated once at start-up by the
 * proxy and at synth by the stack that renders it.
 *
 * The CDK stack renders this document, so field names are a contract: add fields, never rename them.
 * Every problem is reported at once as `path: got X, expected Y` lines.
 *
 * This module must stay free of aws-cdk-lib imports: the proxy bundles it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Ports, ROUTER_FLEET_NAME, metricsNamespace } from './metrics';
import { DEFAULT_KEYWORDS, ROUTING_DEFAULTS } from './routing';
import { routingDataIssues, type RoutingData } from './routing-data';
import { ConfigError, deepFreeze, formatIssues } from './validation';

export { ConfigError };

/** Model name that asks the proxy to pick the tier. */
export const AUTO_MODEL = 'auto';

/**
 * The proxy's operational endpoints besides `/healthz`: readiness (which tiers answer, breaker
 * states, in-flight counts) and Prometheus metrics. Not for the internet by default (`opsAccess`);
 * the public load balancer hides them unless the environment opens them.
 */
export const OPS_PATHS = { readiness: '/readyz', metrics: '/metrics' } as const;

/** Who may read {@link OPS_PATHS} without an API key. */
export const OPS_ACCESS = ['private', 'public'] as const;

/** Words that mark math or code work (shared with the CDK config). */
export { DEFAULT_KEYWORDS };

/** System prompt of the scorer LLM: asks for one 0-10 rating of the last user message. */
export const DEFAULT_SCORER_SYSTEM_PROMPT =
  'You rate how hard a request is for an AI assistant to answer well. ' +
  'Reply with one integer from 0 to 10 and nothing else. ' +
  '0-3: simple (greetings, customer support, formatting, lookups, short facts, answering from a given context, ' +
  'classification, extraction). 4-6: moderate (explanations, summaries of long texts, routine code). ' +
  '7-10: complex (multi-step reasoning, mathematical proofs, algorithm or system design, refactoring, ' +
  'debugging concurrency, research-level questions). The request to rate is the next message.';

const urlString = z
  .string({ error: 'an http(s) URL' })
  .refine((s) => /^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(s), { error: 'an http(s) URL such as http://10.0.0.5:8000' });

const positiveInt = (what = 'a positive integer') =>
  z.number({ error: what }).int({ error: what }).min(1, { error: what });
const nonNegativeInt = (what = 'an integer >= 0') =>
  z.number({ error: what }).int({ error: what }).min(0, { error: what });
const unit = () =>
  z.number({ error: 'a number in [0, 1]' }).min(0, { error: 'a number in [0, 1]' }).max(1, { error: 'a number in [0, 1]' });
const nonEmpty = (what = 'a non-empty string') => z.string({ error: what }).min(1, { error: what });
const bool = () => z.boolean({ error: 'true or false' });

/**
 * Default longest hold, ms: half the OpenAI SDKs' default 600 s client timeout (the other half is
 * left for the answer), and under the public load balancer's idle timeout the stack derives from the
 * longest generation (300 s + 60 s by default), which a held non-streamed request, silent until its
 * answer, must not outlast.
 */
export const DEFAULT_MAX_HOLD_MS = 300_000;

/** Routing modes: serve the decided tier, or record the decision and serve a fixed tier. */
export const ROUTING_MODES = ['route', 'shadow'] as const;

/** Default key prefix of stored comparison pairs. */
export const DEFAULT_SHADOW_PREFIX = 'shadow-pairs/';

/** One model tier: a vLLM server (or a load balancer in front of several). */
const tierSchema = z.strictObject({
  /** Tier name, used in metrics dimensions and the `x-route-tier` header, e.g. `small`. */
  name: z
    .string({ error: 'a tier name' })
    .regex(/^[a-z][a-z0-9-]{0,31}$/, { error: 'a lower-case name of 1-32 letters, digits or dashes' }),
  /** vLLM server root; the proxy appends `/v1/...`. */
  baseUrl: urlString,
  /** Served model name (vLLM `--served-model-name`); clients may ask for it directly. */
  model: nonEmpty('a model name'),
  /** Price of 1,000 output tokens in USD, for the estimated-cost metric. @default 0 */
  pricePer1kOutputTokensUsd: z.number({ error: 'a number >= 0' }).min(0, { error: 'a number >= 0' }).default(0),
  /** Connection pool size towards this tier. @default 512 */
  maxSockets: positiveInt().default(512),
  /**
   * What a request does when this tier has no capacity (its load balancer answered 503 itself: no
   * healthy target, as while the tier scales from zero): `spill` to the next tier in failover order
   * (larger first), or `hold` it until capacity appears, up to `maxHoldMs`.
   * @default "hold" for the last (largest) tier, which has nothing larger to spill to; "spill" for the others
   */
  whenEmpty: z.enum(['hold', 'spill'], { error: '"hold" or "spill"' }).optional(),
  /** Longest time a request is held for this tier, ms. @default 300000 */
  maxHoldMs: positiveInt().default(DEFAULT_MAX_HOLD_MS),
  /** Requests held for this tier at most; one more gets 503 at once. @default 100 */
  holdQueueSize: positiveInt().default(100),
});

/** The router's embedding server. */
const embeddingSchema = z.strictObject({
  /** vLLM embedding server root. */
  baseUrl: urlString,
  /** Served embedding model name. */
  model: nonEmpty('a model name'),
  /** Deadline of one embedding call in ms. @default 200 */
  timeoutMs: positiveInt().default(ROUTING_DEFAULTS.embeddingTimeoutMs),
  /** Prefix put before every text embedded (nomic-embed-text needs `search_query: `). @default "" */
  queryPrefix: z.string({ error: 'a string' }).default(''),
  /** Wire format of the vectors: `base64` (little-endian float32, vLLM supports it) is ~4x smaller and cheaper to parse than `float`. @default "base64" */
  encodingFormat: z.enum(['float', 'base64'], { error: '"float" or "base64"' }).default('base64'),
  /** Exemplar prompts per embedding call at start-up. @default 32 */
  batchSize: positiveInt().default(32),
  /** Connection pool size towards the embedding server. @default 256 */
  maxSockets: positiveInt().default(256),
});

/** The router's scorer LLM. */
const scorerSchema = z.strictObject({
  /** vLLM server root of the small LLM that rates complexity. */
  baseUrl: urlString,
  /** Served scorer model name. */
  model: nonEmpty('a model name'),
  /** Deadline of one rating call in ms. @default 400 */
  timeoutMs: positiveInt().default(ROUTING_DEFAULTS.scorerTimeoutMs),
  /** Instructions sent as the system message; the text to rate is the last user message. */
  systemPrompt: nonEmpty().default(DEFAULT_SCORER_SYSTEM_PROMPT),
  /** `max_tokens` of the rating call ("10" may take two tokens). @default 2 */
  maxTokens: positiveInt().max(8, { error: 'an integer in [1, 8]' }).default(2),
  /** Ask for `top_logprobs` and use the probability-weighted rating. @default true */
  useLogprobs: bool().default(true),
  /** Connection pool size towards the scorer. @default 256 */
  maxSockets: positiveInt().default(256),
});

/** How prompts are scored and mapped to tiers. */
const routerSchema = z.strictObject({
  /** Embedding server settings. */
  embedding: embeddingSchema,
  /** Scorer LLM settings. */
  scorer: scorerSchema,
  /** Score at or above which the next larger tier serves (two tiers: the large tier). @default 0.65 */
  threshold: unit().default(ROUTING_DEFAULTS.threshold),
  /** Explicit ascending tier boundaries, one per tier after the first; overrides `threshold`. */
  thresholds: z.array(unit(), { error: 'a list of numbers in [0, 1]' }).optional(),
  /** Weight of the embedding score. @default 0.6 */
  embeddingWeight: unit().default(ROUTING_DEFAULTS.embeddingWeight),
  /** Weight of the scorer's rating / 10. @default 0.4 */
  ratingWeight: unit().default(ROUTING_DEFAULTS.ratingWeight),
  /** Multiplier on `d_complex - d_simple` inside the logistic; 1 is the plain formula. @default 1 */
  embeddingScale: z.number({ error: 'a number > 0' }).positive({ error: 'a number > 0' }).default(1),
  /** Characters of system prompt + last user message that are scored. @default 2048 */
  truncateChars: positiveInt().default(ROUTING_DEFAULTS.truncateChars),
  /** Embedding score this far beyond every tier boundary decides alone and skips the scorer; 1 disables. @default 0.2 */
  fastPathMargin: unit().default(ROUTING_DEFAULTS.fastPathMargin),
  /** Math/code heuristic: `force` the largest tier, `bias` the score, or `off`. @default "force" */
  keywordPolicy: z.enum(['force', 'bias', 'off'], { error: '"force", "bias" or "off"' }).default(ROUTING_DEFAULTS.keywordPolicy),
  /** Amount added to the score in `bias` mode. @default 0.2 */
  keywordBias: unit().default(ROUTING_DEFAULTS.keywordBias),
  /** Whole words or phrases that trigger the heuristic (code fences and math notation always do). */
  keywords: z.array(nonEmpty('a non-empty keyword'), { error: 'a list of strings' }).default([...DEFAULT_KEYWORDS]),
  /** Tier that serves when neither scoring call answers. @default the last (largest) tier */
  fallbackTier: nonEmpty('a tier name').optional(),
  /** Routing data file `{"simple": [...], "complex": [...], "model"?: {...}}`: exemplar prompts and optional learned weights. @default the file shipped with the proxy */
  exemplarsFile: nonEmpty('a file path').optional(),
  /** The routing data inline (the stack renders an environment's file here); wins over `exemplarsFile`. */
  exemplars: z
    .unknown()
    .superRefine((v, ctx) => {
      for (const i of routingDataIssues(v)) ctx.addIssue({ code: 'custom', path: [...i.path], message: i.expected, input: i.input });
    })
    .transform((v) => v as RoutingData)
    .optional(),
  /** Longest pause between start-up attempts to embed the exemplars while the server is down, ms. @default 10000 */
  centroidRetryMaxMs: positiveInt().default(10_000),
  /**
   * `route` serves each request from the tier the router decides; `shadow` decides and records
   * exactly as `route` does (metrics, log line, route headers) but serves `shadowServeTier`.
   * A client's model name or `x-route-tier` still wins in both modes. @default "route"
   */
  mode: z.enum(ROUTING_MODES, { error: '"route" or "shadow"' }).default('route'),
  /** Tier that serves the requests the router decides, in shadow mode. @default the last (largest) tier */
  shadowServeTier: nonEmpty('a tier name').optional(),
});

/** Where comparison pairs go: an S3 bucket (in AWS) or a local directory (local runs), never both. */
const shadowStoreSchema = z.strictObject({
  /** S3 bucket receiving gzip JSON-lines batches of pairs. */
  bucket: nonEmpty('an S3 bucket name').optional(),
  /** Key prefix of the batches in the bucket (or below the directory). @default "shadow-pairs/" */
  prefix: z.string({ error: 'a key prefix' }).regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, { error: 'a key prefix of safe characters ending in "/" (or "")' }).default(DEFAULT_SHADOW_PREFIX),
  /** AWS region of the bucket. @default the SDK's region chain */
  region: nonEmpty('a region').optional(),
  /** Local directory receiving the batches instead of S3 (local runs). */
  directory: nonEmpty('a directory path').optional(),
  /** Pairs per batch object; a full batch is written at once. @default 100 */
  batchMaxPairs: positiveInt().default(100),
  /** A batch that is not full is written at least this often, ms. @default 60000 */
  flushIntervalMs: positiveInt().default(60_000),
  /** Pairs waiting to be written at most (in memory); one more is dropped and counted. @default 1000 */
  maxBufferedPairs: positiveInt().default(1000),
});

/**
 * Shadow comparison: a share of the requests the router decided for a smaller tier is sent also to
 * the comparison tier, off the client's path, and the prompt with both answers is stored. Off by
 * default (`sampleRate` 0).
 */
const shadowSchema = z.strictObject({
  /** Share of the requests the router decided for a tier below `compareTier` that are compared, 0 to 1. @default 0 */
  sampleRate: unit().default(0),
  /** Tier whose answer each sampled request is compared with. @default the last (largest) tier */
  compareTier: nonEmpty('a tier name').optional(),
  /** Shadow requests in flight per proxy at most; a new sample beyond it is dropped and counted. @default 4 */
  maxConcurrent: positiveInt('an integer from 1 to 64').max(64, { error: 'an integer from 1 to 64' }).default(4),
  /** `max_tokens` cap of a shadow request (the client's own, if lower, is kept). @default 1024 */
  maxTokens: positiveInt().default(1024),
  /** Characters of each answer kept in a pair; a longer one is cut and marked `truncated`. @default 16000 */
  maxCaptureChars: positiveInt().default(16_000),
  /** Deadline of one shadow request (a non-streamed answer), ms. @default 120000 */
  timeoutMs: positiveInt().default(120_000),
  /** Where pairs are stored. */
  store: shadowStoreSchema.prefault({}),
});

/**
 * Default idle time of a pooled upstream connection, ms: below uvicorn's (vLLM's) 5 s keep-alive
 * timeout, so the proxy closes an idle connection before the server can close it under a request.
 */
export const DEFAULT_UPSTREAM_KEEP_ALIVE_MS = 4000;

/** Circuit breaker per tier. */
const breakerSchema = z.strictObject({
  /** Failures within `windowMs` that open the breaker. @default 5 */
  failures: positiveInt().default(5),
  /** Window in which failures are counted, ms. @default 30000 */
  windowMs: positiveInt().default(30_000),
  /** Time the breaker stays open before one half-open probe, ms. @default 15000 */
  cooldownMs: positiveInt().default(15_000),
});

/** Upstream dispatch: deadlines, retries and failover. */
const dispatchSchema = z.strictObject({
  /**
   * Deadline from sending a streamed request to a tier to the first byte of its answer, ms. vLLM
   * sends a stream's headers at once, also for a request that waits in its queue, so the headers do
   * not end this wait; meanwhile the client gets `: waiting for the model` comment lines every
   * `holdKeepAliveMs`. At the deadline the stream ends with an SSE error event (no `[DONE]`) and the
   * tier's connection is closed, so vLLM drops the request. The OpenAI SDKs wait 600 s for a
   * non-streamed answer by default; the CDK stack renders a longer wait that covers a burst's new
   * capacity (the slowest tier's boot grace plus the scale-out alarm). @default 600000
   */
  firstTokenTimeoutMs: positiveInt().default(600_000),
  /**
   * Deadline for a tier's response headers on a streamed request, ms (the first-token deadline
   * when that is sooner). vLLM sends them at once, so a tier silent this long is stuck: the attempt
   * is given up and the request fails over, while nothing has reached the client. @default 30000
   */
  responseHeadersTimeoutMs: positiveInt().default(30_000),
  /** Deadline for the whole answer of a non-streamed request, ms. @default 600000 */
  nonStreamTimeoutMs: positiveInt().default(600_000),
  /** Longest silence between two chunks of a stream once its first byte arrived, ms. @default 30000 */
  idleTimeoutMs: positiveInt().default(30_000),
  /**
   * How long a pooled connection to a tier or scoring server may sit idle before the proxy closes
   * it, ms. Keep it below the server's own keep-alive timeout: 5 s for vLLM (uvicorn), the idle
   * timeout for a load balancer. @default 4000
   */
  upstreamKeepAliveMs: positiveInt().default(DEFAULT_UPSTREAM_KEEP_ALIVE_MS),
  /** Retries on the same tier after a 5xx before failing over. @default 1 */
  retries: nonNegativeInt().default(1),
  /** First back-off before a same-tier retry, doubled each time, ms. @default 100 */
  backoffMs: nonNegativeInt().default(100),
  /** Upper bound of the back-off, ms. @default 1000 */
  maxBackoffMs: nonNegativeInt().default(1000),
  /** Longest `Retry-After` of a 429 that is waited for instead of failing over, ms. @default 2000 */
  maxRetryAfterMs: nonNegativeInt().default(2000),
  /** Upstream attempts per request across all tiers (an empty tier's instant 503 is not one). @default 3 */
  maxAttempts: positiveInt().default(3),
  /** While requests are held for an empty tier, how often it is probed on `/health`, ms. @default 1000 */
  holdProbeIntervalMs: positiveInt().default(1000),
  /**
   * How often a stream that waits gets an SSE comment line, ms: `: waiting for capacity` while it is
   * held for an empty tier (its headers go out with the first one), `: waiting for the model` while
   * a tier that answered has not sent its first token. Below every idle timeout between the proxy
   * and the client (60 s on an ALB by default). @default 15000
   */
  holdKeepAliveMs: positiveInt().default(15_000),
  /** Per-tier circuit breaker. */
  breaker: breakerSchema.prefault({}),
});

/** Request limits. */
const limitsSchema = z.strictObject({
  /** Largest request body, bytes. @default 1048576 */
  maxBodyBytes: positiveInt().default(1024 * 1024),
  /** Largest request header block, bytes (431 beyond). @default 16384 */
  maxHeaderBytes: positiveInt().default(16 * 1024),
  /**
   * Deepest nesting of JSON objects and arrays in a request body (400 beyond). A tool or
   * response-format JSON schema costs about two levels per schema level, under some five levels of
   * request envelope: OpenAI's strict schemas (at most 10 levels) stay under 30, and 128 leaves room
   * for `anyOf`/`$defs` wrapping. The cap stays far below the depths that exhaust a parser's or
   * serializer's stack (about 1,000 for Python's json in vLLM, a few thousand for V8's
   * JSON.stringify). @default 128
   */
  maxJsonDepth: positiveInt('an integer from 1 to 1000').max(1000, { error: 'an integer from 1 to 1000' }).default(128),
});

/** Node HTTP server timeouts for a service behind an ALB. */
const serverSchema = z.strictObject({
  /** Idle keep-alive timeout, ms; must exceed the ALB idle timeout (60 s by default). @default 65000 */
  keepAliveTimeoutMs: positiveInt().default(65_000),
  /** Time allowed to receive a request's headers, ms (slowloris guard). @default 5000 */
  headersTimeoutMs: positiveInt().default(5000),
  /** Time allowed to receive a whole request, ms. @default 30000 */
  requestTimeoutMs: positiveInt().default(30_000),
  /** How often the server checks the two timeouts above, ms. @default 1000 */
  connectionsCheckingIntervalMs: positiveInt().default(1000),
  /** On shutdown, how long open streams may run before they are cut, ms. @default 25000 */
  shutdownGraceMs: nonNegativeInt().default(25_000),
});

/** Session stickiness (`x-session-id`). */
const sessionsSchema = z.strictObject({
  /** How long a session stays on the larger tier it was routed to, s. @default 1800 */
  ttlSeconds: positiveInt().default(ROUTING_DEFAULTS.sessionTtlSeconds),
  /** Sessions remembered at most; the least recently used go first. @default 100000 */
  maxEntries: positiveInt().default(100_000),
});

/** Metrics publishing. */
const metricsSchema = z.strictObject({
  /** Publish to CloudWatch (stays off with a warning when no credentials are found). @default true */
  enabled: bool().default(true),
  /** Environment name, used for the default namespace. @default "local" */
  environment: nonEmpty('an environment name').default('local'),
  /** CloudWatch namespace. @default `LlmTierRouter/<environment>` */
  namespace: nonEmpty('a namespace').optional(),
  /** AWS region of the CloudWatch client. @default the SDK's region chain */
  region: nonEmpty('a region').optional(),
  /** Interval between PutMetricData flushes, ms (at least 10 s apart in production). @default 10000 */
  flushIntervalMs: positiveInt().default(10_000),
  /** Sampling interval of the in-flight gauge, ms. @default 1000 */
  pendingSampleMs: positiveInt().default(1000),
  /** Require an API key on `GET /metrics` from every caller, whatever `opsAccess` says. @default false */
  prometheusRequiresAuth: bool().default(false),
});

/** Readiness probing of tiers and scoring servers. */
const readinessSchema = z.strictObject({
  /** Deadline of one `/health` probe, ms. @default 1000 */
  probeTimeoutMs: positiveInt().default(1000),
  /** How long a probe result is reused, ms. @default 2000 */
  cacheMs: nonNegativeInt().default(2000),
});

/** The whole proxy configuration document. */
export const proxyConfigSchema = z
  .strictObject({
    /** Listening port; 0 picks a free one. `PORT` overrides it. @default 8080 */
    port: z.number({ error: 'a port number' }).int({ error: 'a port number' }).min(0, { error: 'a port in [0, 65535]' }).max(65535, { error: 'a port in [0, 65535]' }).default(Ports.proxy),
    /** Listening address. @default "0.0.0.0" */
    host: nonEmpty('a host address').default('0.0.0.0'),
    /** Accepted bearer keys; `LLM_ROUTER_API_KEYS` adds more. */
    apiKeys: z.array(nonEmpty('a non-empty key'), { error: 'a list of strings' }).default([]),
    /** Serve without API keys (local runs only). @default false */
    allowUnauthenticated: bool().default(false),
    /**
     * Who may read `/readyz` and `/metrics` without an API key: `private` (a direct caller on a
     * loopback or private address, not relayed by a load balancer or proxy), or `public` (anyone).
     * Every other caller needs an API key. @default "private"
     */
    opsAccess: z.enum(OPS_ACCESS, { error: '"private" or "public"' }).default('private'),
    /** Honour the `x-route-tier` request header. @default false */
    allowTierOverride: bool().default(false),
    /** Include prompt text in debug logs. @default false */
    logPrompts: bool().default(false),
    /** pino log level. @default "info" */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'a pino level such as "info"' }).default('info'),
    /**
     * Log lines wait in a buffer until this many bytes are ready, then go out in one write; 0 writes
     * each line at once. At most 32768 (the largest single write is 64 KiB). @default 16384
     */
    logBufferBytes: nonNegativeInt('an integer from 0 to 32768').max(32768, { error: 'an integer from 0 to 32768' }).default(16384),
    /** Buffered log lines are written at least this often, ms. @default 1000 */
    logFlushIntervalMs: positiveInt().default(1000),
    /** Model tiers, cheapest first. */
    tiers: z.array(tierSchema, { error: 'a list of tiers' }).min(1, { error: 'at least one tier' }),
    /** Prompt scoring. */
    router: routerSchema,
    /** Upstream dispatch. */
    dispatch: dispatchSchema.prefault({}),
    /** Request limits. */
    limits: limitsSchema.prefault({}),
    /** HTTP server timeouts. */
    server: serverSchema.prefault({}),
    /** Session stickiness. */
    sessions: sessionsSchema.prefault({}),
    /** Metrics publishing. */
    metrics: metricsSchema.prefault({}),
    /** Readiness probing. */
    readiness: readinessSchema.prefault({}),
    /** Shadow comparison sampling (off by default). */
    shadow: shadowSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    const add = (p: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path: p, message, input: undefined });
    const tiers = Array.isArray(c.tiers) ? c.tiers : [];
    const names = new Set<string>();
    const models = new Set<string>();
    tiers.forEach((t, i) => {
      if (!t || typeof t !== 'object') return;
      if (names.has(t.name)) add(['tiers', i, 'name'], `got "${t.name}", expected a name no other tier uses`);
      if (t.name === ROUTER_FLEET_NAME) add(['tiers', i, 'name'], `got "${t.name}", expected a name other than "${ROUTER_FLEET_NAME}" (reserved for the router fleet)`);
      names.add(t.name);
      if (t.model === AUTO_MODEL) add(['tiers', i, 'model'], `got "auto", expected a model name other than "auto" (reserved for routing)`);
      else if (models.has(t.model)) add(['tiers', i, 'model'], `got "${t.model}", expected a model no other tier serves`);
      models.add(t.model);
    });
    const r = c.router;
    if (r && typeof r.embeddingWeight === 'number' && typeof r.ratingWeight === 'number') {
      const sum = r.embeddingWeight + r.ratingWeight;
      if (Math.abs(sum - 1) > 1e-9) {
        add(['router', 'ratingWeight'], `got ${r.ratingWeight} (+ embeddingWeight ${r.embeddingWeight} = ${round(sum)}), expected embeddingWeight + ratingWeight = 1`);
      }
    }
    if (r?.fallbackTier !== undefined && tiers.length > 0 && !names.has(r.fallbackTier)) {
      add(['router', 'fallbackTier'], `got "${r.fallbackTier}", expected one of ${[...names].map((n) => `"${n}"`).join(', ')}`);
    }
    const tierName = (p: (string | number)[], name: string | undefined) => {
      if (name !== undefined && tiers.length > 0 && !names.has(name)) add(p, `got "${name}", expected one of ${[...names].map((n) => `"${n}"`).join(', ')}`);
    };
    tierName(['router', 'shadowServeTier'], r?.shadowServeTier);
    const sh = c.shadow;
    if (sh) {
      tierName(['shadow', 'compareTier'], sh.compareTier);
      if (sh.compareTier !== undefined && tiers.length > 0 && sh.compareTier === tiers[0]?.name) {
        add(['shadow', 'compareTier'], `got "${sh.compareTier}", expected a tier above the cheapest ("${tiers[0].name}"): requests decided for a cheaper tier are compared with it`);
      }
      const st = sh.store;
      if (st && st.bucket !== undefined && st.directory !== undefined) {
        add(['shadow', 'store', 'directory'], `got "${st.directory}" with bucket "${st.bucket}", expected one store: a bucket or a directory`);
      }
      if (sh.sampleRate > 0 && st && st.bucket === undefined && st.directory === undefined) {
        add(['shadow', 'store', 'bucket'], `got nothing with shadow.sampleRate ${sh.sampleRate}, expected an S3 bucket name (or shadow.store.directory for a local run) to store the pairs in`);
      }
      if (sh.sampleRate > 0 && tiers.length < 2) {
        add(['shadow', 'sampleRate'], `got ${sh.sampleRate} with one tier, expected 0 (a comparison needs two tiers)`);
      }
    }
    if (r?.thresholds !== undefined) {
      if (r.thresholds.length !== tiers.length - 1) {
        add(['router', 'thresholds'], `got ${r.thresholds.length} values, expected ${Math.max(0, tiers.length - 1)} (one per tier after the first)`);
      } else if (r.thresholds.some((v, i) => i > 0 && v <= r.thresholds![i - 1])) {
        add(['router', 'thresholds'], `got ${JSON.stringify(r.thresholds)}, expected strictly ascending values`);
      }
    }
    const apiKeys = Array.isArray(c.apiKeys) ? c.apiKeys : [];
    if (apiKeys.length === 0 && c.allowUnauthenticated !== true) {
      add(['apiKeys'], 'got none, expected at least one key (or LLM_ROUTER_API_KEYS, or "allowUnauthenticated": true for local runs)');
    }
    const s = c.server;
    if (s && s.headersTimeoutMs > s.requestTimeoutMs) {
      add(['server', 'headersTimeoutMs'], `got ${s.headersTimeoutMs}, expected at most server.requestTimeoutMs (${s.requestTimeoutMs})`);
    }
    const d = c.dispatch;
    if (d && d.maxBackoffMs < d.backoffMs) {
      add(['dispatch', 'maxBackoffMs'], `got ${d.maxBackoffMs}, expected at least dispatch.backoffMs (${d.backoffMs})`);
    }
  });

/** The validated, defaulted proxy configuration. */
export type ProxyConfig = z.output<typeof proxyConfigSchema>;
/** The document as written (optional fields may be left out). */
export type ProxyConfigInput = z.input<typeof proxyConfigSchema>;
/** One tier of a validated configuration. */
export type TierConfig = ProxyConfig['tiers'][number];

const SUBJECT = 'proxy configuration';

/** Validates a parsed JSON document; throws {@link ConfigError} listing every problem. */
export function parseProxyConfig(input: unknown): ProxyConfig {
  const result = proxyConfigSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(formatIssues(result.error, { schema: proxyConfigSchema, root: input, listItems: 'index' }), SUBJECT);
  }
  return deepFreeze(result.data);
}

/** The tier boundaries in effect: `thresholds`, or `threshold` spread evenly over the tiers. */
export function tierBoundaries(config: ProxyConfig): number[] {
  if (config.router.thresholds) return [...config.router.thresholds];
  const n = config.tiers.length;
  const out: number[] = [];
  for (let i = 1; i < n; i++) out.push((config.router.threshold * i) / (n - 1));
  return out;
}

/** Index of the tier serving the router's requests in shadow mode (default: the last, largest tier). */
export function shadowServeTierIndex(config: ProxyConfig): number {
  const name = config.router.shadowServeTier;
  const i = name === undefined ? -1 : config.tiers.findIndex((t) => t.name === name);
  return i >= 0 ? i : config.tiers.length - 1;
}

/** Index of the tier sampled requests are compared with (default: the last, largest tier). */
export function shadowCompareTierIndex(config: ProxyConfig): number {
  const name = config.shadow.compareTier;
  const i = name === undefined ? -1 : config.tiers.findIndex((t) => t.name === name);
  return i >= 0 ? i : config.tiers.length - 1;
}

/** Index of the tier that serves when scoring fails (default: the last, largest tier). */
export function fallbackTierIndex(config: ProxyConfig): number {
  const name = config.router.fallbackTier;
  const i = name === undefined ? -1 : config.tiers.findIndex((t) => t.name === name);
  return i >= 0 ? i : config.tiers.length - 1;
}

/** What requests do when tier `index` has no capacity: its `whenEmpty`, else hold on the last tier and spill elsewhere. */
export function tierWhenEmpty(config: ProxyConfig, index: number): 'hold' | 'spill' {
  return config.tiers[index].whenEmpty ?? (index === config.tiers.length - 1 ? 'hold' : 'spill');
}

/** CloudWatch namespace in effect. */
export function effectiveNamespace(config: ProxyConfig): string {
  return config.metrics.namespace ?? metricsNamespace(config.metrics.environment);
}

/**
 * Reads the document from `LLM_ROUTER_CONFIG_FILE` or `LLM_ROUTER_CONFIG`, merges keys from
 * `LLM_ROUTER_API_KEYS` (JSON array or comma-separated) and applies `PORT`.
 */
export function loadProxyConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const file = env.LLM_ROUTER_CONFIG_FILE;
  const inline = env.LLM_ROUTER_CONFIG;
  let doc: unknown;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError([`LLM_ROUTER_CONFIG_FILE: got "${file}", expected a readable file (${(e as NodeJS.ErrnoException).code ?? 'read error'})`], SUBJECT);
    }
    doc = parseJson(text, `LLM_ROUTER_CONFIG_FILE (${file})`);
  } else if (inline) {
    doc = parseJson(inline, 'LLM_ROUTER_CONFIG');
  } else {
    throw new ConfigError(['LLM_ROUTER_CONFIG_FILE: got nothing, expected the path of a JSON config file (or inline JSON in LLM_ROUTER_CONFIG)'], SUBJECT);
  }
  const issues: string[] = [];
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    const obj = { ...(doc as Record<string, unknown>) };
    const envKeys = env.LLM_ROUTER_API_KEYS;
    if (envKeys !== undefined && envKeys.trim() !== '') {
      const keys = parseKeyList(envKeys);
      if (keys === undefined) issues.push('LLM_ROUTER_API_KEYS: got a value that is neither a JSON array of strings nor a comma-separated list, expected one of the two');
      else {
        const existing = Array.isArray(obj.apiKeys) ? (obj.apiKeys as unknown[]) : [];
        obj.apiKeys = [...new Set([...existing, ...keys])];
      }
    }
    if (env.PORT !== undefined && env.PORT !== '') {
      const p = Number(env.PORT);
      if (!Number.isInteger(p) || p < 0 || p > 65535) issues.push(`PORT: got "${env.PORT}", expected a port in [0, 65535]`);
      else obj.port = p;
    }
    doc = obj;
  }
  try {
    const config = parseProxyConfig(doc);
    if (issues.length) throw new ConfigError(issues, SUBJECT);
    return config;
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError([...issues, ...e.issues.filter((i) => !issues.includes(i))], SUBJECT);
    throw e;
  }
}

function parseKeyList(text: string): string[] | undefined {
  const t = text.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((k) => typeof k === 'string')) return (v as string[]).map((k) => k.trim()).filter(Boolean);
    } catch {
      return undefined;
    }
    return undefined;
  }
  return t.split(',').map((k) => k.trim()).filter(Boolean);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ConfigError([`${where}: got text that is not JSON (${(e as Error).message}), expected a JSON object`], SUBJECT);
  }
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
