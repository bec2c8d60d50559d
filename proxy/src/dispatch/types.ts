/** The shapes the dispatcher shares with the server. */
import type { ProxyConfig, TierConfig } from '../config';
import type { CircuitBreaker } from '../breaker';
import type { TierMetrics } from '../metrics/registry';
import type { RouteDecision } from '../routing/decide';
import type { Upstream } from '../upstream';
import type { DecisionRecord } from './decision';
import type { HoldQueue } from './hold';
import type { PolicyConfig } from './policy';

/** One tier at run time. */
export interface TierRuntime {
  readonly index: number;
  readonly cfg: TierConfig;
  readonly upstream: Upstream;
  readonly breaker: CircuitBreaker;
  readonly metrics: TierMetrics;
}

/** What the dispatcher needs from the server. */
export interface DispatchEnv {
  readonly tiers: readonly TierRuntime[];
  readonly dispatch: ProxyConfig['dispatch'];
  /** The dispatch policy's numbers, with each tier's choice when it has no capacity. */
  readonly policy: PolicyConfig;
  /** Per tier: the requests held for its capacity. */
  readonly holds: readonly HoldQueue[];
  /** Monotonic clock, ms. */
  now(): number;
  /** Called once when an exchange is over. */
  onDone(ex: ExchangeResult): void;
}

/** A validated request ready to dispatch. */
export interface RoutedRequest {
  readonly requestId: string;
  /** Upstream path, e.g. `/v1/chat/completions`. */
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly raw: Buffer;
  readonly stream: boolean;
  /** The client asked for `stream_options.include_usage`. */
  readonly clientWantsUsage: boolean;
  /**
   * The client named a tier's model: the body goes upstream as is (plus usage options) and the
   * request stays on that tier (same-tier retries, no failover to a different model).
   */
  readonly modelNamed: boolean;
  readonly decision: RouteDecision;
  /** Arrival time (env clock). */
  readonly startedAt: number;
}

/** How an exchange ended. */
export type ExchangeOutcome = 'ok' | 'passthrough' | 'upstream-failed' | 'unavailable' | 'client-gone' | 'internal-error';

/** What the server learns about a finished exchange (its request line, session pinning, 5xx count). */
export interface ExchangeResult {
  readonly r: RoutedRequest;
  /** The routing decision and what became of it (route headers and log fields). */
  readonly record: DecisionRecord;
  readonly outcome: ExchangeOutcome | undefined;
  /** Tier that served (or was last tried). */
  readonly servedTier: number | undefined;
  /** Upstream attempts made. */
  readonly attempts: number;
  /** Status sent to the client. */
  readonly status: number;
  /** Time to first byte (env clock ms), when one was sent. */
  readonly ttftMs: number | undefined;
  /** Usage read from the answer. */
  readonly usage: { readonly promptTokens: number; readonly completionTokens: number } | undefined;
  /** Last upstream failure, for the log. */
  readonly lastFailure: string | undefined;
  /** `x-session-id` to pin when the answer succeeds. */
  readonly sessionId: string | undefined;
  /** The error inside the proxy that ended the exchange (outcome `internal-error`), for its log line. */
  readonly internalError: unknown;
}
