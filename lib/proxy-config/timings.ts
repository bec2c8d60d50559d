/**
 * Every deadline along a request's path, derived from the longest non-streamed generation and, for
 * a stream's first token, from how long a burst waits for new capacity. The proxy's deadlines on
 * silent connections must expire before the public ALB gives up on them, Node's keep-alive must
 * outlast the ALB's, and a task leaving the service must keep serving until the longest stream it
 * holds has finished. A stream waiting for its first token is not silent towards the client (the
 * proxy sends SSE comment lines), but its connection to the internal ALB is: that ALB's idle
 * timeout outlasts the first-token deadline (`loadBalancerIdleTimeout` in internal-lb.ts).
 */

/** Deadlines and drain times of the routing proxy and the public ALB. */
export interface ProxyTimings {
  /** Proxy: deadline for the whole answer of a non-streamed request, ms. */
  readonly nonStreamTimeoutMs: number;
  /** Proxy: deadline from sending a streamed request to its first token, ms (see {@link firstTokenSeconds}). */
  readonly firstTokenTimeoutMs: number;
  /** Proxy: longest silence between two chunks of a stream, ms. */
  readonly streamIdleTimeoutMs: number;
  /** Public ALB idle timeout, s: above every proxy deadline so the proxy reports a timeout itself. */
  readonly loadBalancerIdleTimeoutSeconds: number;
  /** Proxy: Node `server.keepAliveTimeout`, ms; must exceed the ALB idle timeout (facts.md). */
  readonly keepAliveTimeoutMs: number;
  /** Target group deregistration delay, s: a draining task finishes its longest stream. */
  readonly deregistrationDelaySeconds: number;
  /** Container stop timeout, s: time between SIGTERM and SIGKILL once draining is over. */
  readonly stopTimeoutSeconds: number;
  /** Proxy: how long open streams may run after SIGTERM before they are ended, ms. */
  readonly shutdownGraceMs: number;
  /**
   * Proxy: how long a pooled connection to the internal ALB may sit idle, ms. Below the internal
   * ALB's idle timeout (longest generation + 60 s), so the ALB never closes one under a request.
   */
  readonly upstreamKeepAliveMs: number;
}

// ALB limits: idle timeout 1-4000 s, deregistration delay 0-3600 s. Fargate: stopTimeout <= 120 s.
const ALB_MAX_IDLE_TIMEOUT_SECONDS = 4000;
const ALB_MAX_DEREGISTRATION_DELAY_SECONDS = 3600;
const FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120;

/** Headroom between a proxy deadline and the ALB idle timeout, s. */
const IDLE_HEADROOM_SECONDS = 60;
/** Node's keep-alive outlasts the ALB idle timeout by this much, s. */
const KEEP_ALIVE_MARGIN_SECONDS = 5;
/** Draining outlasts the longest generation by this much (queueing before the first token), s. */
const DRAIN_MARGIN_SECONDS = 30;
/**
 * Shortest first-token deadline, s: the OpenAI SDKs' default request timeout (600 s), the longest
 * wait for an answer to start that clients are built for. A fleet at its maximum capacity queues
 * requests however fast it boots.
 */
const MIN_FIRST_TOKEN_SECONDS = 600;
/**
 * From a queue building up to the scale-out alarm firing, beyond its evaluation window, s: the
 * instances' 10 s metric interval plus CloudWatch ingestion and alarm evaluation (estimate).
 */
const ALARM_LAG_SECONDS = 30;
/** Longest first-token deadline, s: the internal ALB's idle timeout (at most 4,000 s) must outlast it. */
const MAX_FIRST_TOKEN_SECONDS = 3600;
/** A stream silent for this long is treated as a stuck upstream, s. */
const MAX_STREAM_IDLE_SECONDS = 30;
/**
 * Idle pooled connections to the internal ALB are closed after this long, s: under its idle timeout
 * (at least 61 s), and short enough that connections spread to new ALB nodes as it scales.
 */
const UPSTREAM_KEEP_ALIVE_SECONDS = 50;
/** The proxy ends its streams this long before ECS sends SIGKILL, s. */
const SHUTDOWN_MARGIN_SECONDS = 10;

/** What a burst's wait for new capacity depends on (slices of the environment config). */
export interface BurstWaitInput {
  /** The model tiers and the boot time each fleet allows (`healthCheckGraceSeconds`). */
  readonly tiers: readonly { readonly healthCheckGraceSeconds: number }[];
  readonly scaling: { readonly scaleOutEvaluationSeconds: number };
}

/**
 * How long a streamed request may wait for its first token, s. In a burst, vLLM queues the requests
 * it accepted (their headers already sent) until it schedules them, while new instances boot; the
 * last ones queued wait about as long as new capacity takes to arrive: the scale-out alarm window
 * plus the slowest tier's boot. The boot grace of a fleet is the longest its group waits for a new
 * instance, so past it (plus the alarm window) capacity is not coming. At least
 * {@link MIN_FIRST_TOKEN_SECONDS}, at most {@link MAX_FIRST_TOKEN_SECONDS}, in whole minutes. With the
 * default tiers: 1,500 s large-tier grace + 30 s evaluation + 30 s lag = 1,560 s (26 min).
 */
export function firstTokenSeconds(cfg: BurstWaitInput): number {
  const slowestBoot = Math.max(0, ...cfg.tiers.map((t) => t.healthCheckGraceSeconds));
  const wait = Math.ceil((slowestBoot + cfg.scaling.scaleOutEvaluationSeconds + ALARM_LAG_SECONDS) / 60) * 60;
  return Math.min(MAX_FIRST_TOKEN_SECONDS, Math.max(MIN_FIRST_TOKEN_SECONDS, wait));
}

/**
 * The timings for an environment whose longest non-streamed generation takes
 * `longestGenerationSeconds` and whose streams wait up to `firstTokenWaitSeconds` for their first
 * token ({@link firstTokenSeconds}; default its floor, 600 s).
 */
export function proxyTimings(longestGenerationSeconds: number, firstTokenWaitSeconds = MIN_FIRST_TOKEN_SECONDS): ProxyTimings {
  if (!Number.isInteger(longestGenerationSeconds) || longestGenerationSeconds < 1) {
    throw new Error(`longestGenerationSeconds: got ${longestGenerationSeconds}, expected a positive whole number of seconds`);
  }
  const longest = longestGenerationSeconds;
  const idle = Math.min(longest + IDLE_HEADROOM_SECONDS, ALB_MAX_IDLE_TIMEOUT_SECONDS);
  const stop = FARGATE_MAX_STOP_TIMEOUT_SECONDS;
  return {
    nonStreamTimeoutMs: Math.min(longest, idle - KEEP_ALIVE_MARGIN_SECONDS) * 1000,
    firstTokenTimeoutMs: firstTokenWaitSeconds * 1000,
    streamIdleTimeoutMs: Math.min(longest, MAX_STREAM_IDLE_SECONDS) * 1000,
    loadBalancerIdleTimeoutSeconds: idle,
    keepAliveTimeoutMs: (idle + KEEP_ALIVE_MARGIN_SECONDS) * 1000,
    deregistrationDelaySeconds: Math.min(longest + DRAIN_MARGIN_SECONDS, ALB_MAX_DEREGISTRATION_DELAY_SECONDS),
    stopTimeoutSeconds: stop,
    shutdownGraceMs: (stop - SHUTDOWN_MARGIN_SECONDS) * 1000,
    upstreamKeepAliveMs: Math.min(UPSTREAM_KEEP_ALIVE_SECONDS, longest + IDLE_HEADROOM_SECONDS - 10) * 1000,
  };
}
