/**
 * Every deadline along a request's path, derived from one number: the longest non-streamed
 * generation. The proxy's deadlines must expire before the public ALB gives up on an idle
 * connection, Node's keep-alive must outlast the ALB's, and a task leaving the service must keep
 * serving until the longest stream it holds has finished.
 */

/** Deadlines and drain times of the routing proxy and the public ALB. */
export interface ProxyTimings {
  /** Proxy: deadline for the whole answer of a non-streamed request, ms. */
  readonly nonStreamTimeoutMs: number;
  /** Proxy: deadline for a tier's response headers on a streamed request, ms. */
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
/** A stream whose first token takes longer than this is treated as a stuck upstream, s. */
const MAX_FIRST_TOKEN_SECONDS = 60;
/** A stream silent for this long is treated as a stuck upstream, s. */
const MAX_STREAM_IDLE_SECONDS = 30;
/**
 * Idle pooled connections to the internal ALB are closed after this long, s: under its idle timeout
 * (at least 61 s), and short enough that connections spread to new ALB nodes as it scales.
 */
const UPSTREAM_KEEP_ALIVE_SECONDS = 50;
/** The proxy ends its streams this long before ECS sends SIGKILL, s. */
const SHUTDOWN_MARGIN_SECONDS = 10;

/** The timings for an environment whose longest non-streamed generation takes `longestGenerationSeconds`. */
export function proxyTimings(longestGenerationSeconds: number): ProxyTimings {
  if (!Number.isInteger(longestGenerationSeconds) || longestGenerationSeconds < 1) {
    throw new Error(`longestGenerationSeconds: got ${longestGenerationSeconds}, expected a positive whole number of seconds`);
  }
  const longest = longestGenerationSeconds;
  const idle = Math.min(longest + IDLE_HEADROOM_SECONDS, ALB_MAX_IDLE_TIMEOUT_SECONDS);
  const stop = FARGATE_MAX_STOP_TIMEOUT_SECONDS;
  return {
    nonStreamTimeoutMs: Math.min(longest, idle - KEEP_ALIVE_MARGIN_SECONDS) * 1000,
    firstTokenTimeoutMs: Math.min(longest, MAX_FIRST_TOKEN_SECONDS) * 1000,
    streamIdleTimeoutMs: Math.min(longest, MAX_STREAM_IDLE_SECONDS) * 1000,
    loadBalancerIdleTimeoutSeconds: idle,
    keepAliveTimeoutMs: (idle + KEEP_ALIVE_MARGIN_SECONDS) * 1000,
    deregistrationDelaySeconds: Math.min(longest + DRAIN_MARGIN_SECONDS, ALB_MAX_DEREGISTRATION_DELAY_SECONDS),
    stopTimeoutSeconds: stop,
    shutdownGraceMs: (stop - SHUTDOWN_MARGIN_SECONDS) * 1000,
    upstreamKeepAliveMs: Math.min(UPSTREAM_KEEP_ALIVE_SECONDS, longest + IDLE_HEADROOM_SECONDS - 10) * 1000,
  };
}
