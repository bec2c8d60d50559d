/**
 * What a request does after each upstream attempt that did not commit: retry the same tier after a
 * back-off or a 429's Retry-After, fail over to the next tier, or give up. Pure and table-tested;
 * the exchange (`exchange.ts`) performs each action and reports what came of it.
 *
 * Retries and failover happen strictly before the first byte reaches the client; once a tier
 * answered with anything but a 5xx or a 429 the request is committed and never comes back here.
 * A tier with no capacity at all (its load balancer answers 503 itself) is not a failing tier: the
 * request spills to the next tier or is held until capacity appears, as the tier's config says.
 */
import type { ApiError } from '../errors';

/** The numbers the policy depends on (the `dispatch` section of the proxy config). */
export interface PolicyConfig {
  /** Same-tier retries after a 5xx before failing over. */
  readonly retries: number;
  /** First back-off before a same-tier retry, doubled each time, ms. */
  readonly backoffMs: number;
  /** Upper bound of the back-off, ms. */
  readonly maxBackoffMs: number;
  /** Longest 429 Retry-After waited for on the same tier, ms. */
  readonly maxRetryAfterMs: number;
  /** Failed upstream attempts per request across all tiers. */
  readonly maxAttempts: number;
  /** Per tier: what a request does when the tier has no capacity. */
  readonly whenEmpty: readonly ('hold' | 'spill')[];
  /** Per tier: longest hold, ms. */
  readonly maxHoldMs: readonly number[];
}

/** Where a request stands. */
export interface DispatchState {
  /** Tiers to try, in order. */
  readonly order: readonly number[];
  /** Position in `order` of the tier being tried; `order.length` once every tier was tried. */
  readonly at: number;
  /** Upstream attempts that failed so far. */
  readonly attempts: number;
  /** Same-tier retries after a 5xx made on the current tier. */
  readonly retries: number;
  /** Every failed attempt so far was a 429. */
  readonly only429: boolean;
  /** The shortest Retry-After of the 429s seen, ms. */
  readonly minRetryAfterMs: number | undefined;
  /** Tiers that had no capacity for this request, in the order found. */
  readonly empty: readonly number[];
}

/** What came of the last action. */
export type Outcome =
  /** The tier's circuit breaker gave no permit for an attempt: nothing was sent. */
  | { readonly kind: 'breaker-open' }
  /** A `wait` ended. */
  | { readonly kind: 'waited' }
  /** The tier answered 5xx or 429 (`retryAfterMs` from a 429's Retry-After). */
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterMs?: number }
  /** The connection failed or reset before response headers. */
  | { readonly kind: 'connect'; readonly code: string }
  /** No response headers within the attempt's deadline (response headers for a stream, the whole answer otherwise). */
  | { readonly kind: 'deadline' }
  /** The client closed the connection. */
  | { readonly kind: 'client-gone' }
  /** The tier's load balancer had no healthy target (see {@link isNoCapacity}); the answer cost nothing. */
  | { readonly kind: 'no-capacity' }
  /** A held request: the tier has capacity again. */
  | { readonly kind: 'released' }
  /** A held request waited its tier's longest hold. */
  | { readonly kind: 'hold-expired' }
  /** The tier's hold queue was full. */
  | { readonly kind: 'hold-full' };

/** What to do next. */
export type Action =
  /**
   * Take a permit from tier `tier`'s breaker (report `breaker-open` if refused) and send the request;
   * `cause`: why the request left the tier it was on, when `tier` is another one.
   */
  | { readonly kind: 'attempt'; readonly tier: number; readonly cause: HopCause }
  /** Queue the request for tier `tier` until it has capacity (report `released`), at most `ms` in all. */
  | { readonly kind: 'hold'; readonly tier: number; readonly ms: number }
  /** Wait `ms`, then report `waited`. */
  | { readonly kind: 'wait'; readonly ms: number }
  /** Answer the client with `error` and a Retry-After of `retryAfterSeconds`. */
  | { readonly kind: 'give-up'; readonly error: ApiError; readonly retryAfterSeconds: number }
  /** The client left: stop without an answer. */
  | { readonly kind: 'abandon' };

/** Why a request moved to another tier: the tier failed, or it had no capacity and spills. */
export type HopCause = 'failover' | 'spill';

/** What the breaker of the tier whose attempt produced the outcome learns from it. */
export type BreakerVerdict = 'failure' | 'release' | 'none';

/** One transition. */
export interface Step {
  readonly state: DispatchState;
  readonly action: Action;
  /** For the tier of the attempt that just ended (none after a wait or a refused permit). */
  readonly breaker: BreakerVerdict;
  /** The outcome is a failed upstream attempt (counted in `UpstreamErrors`). */
  readonly failed: boolean;
  /** The tier had no capacity, for the first time in this request (counted in `NoCapacityRequests`). */
  readonly noCapacity?: boolean;
}

/** Every tier answered 429: the client may retry after the shortest Retry-After. */
export const EVERY_TIER_BUSY: ApiError = { status: 429, message: 'Every model tier is at capacity; retry later.', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' };
/** No tier could serve (failures, open breakers, the attempt cap). */
export const NO_TIER_AVAILABLE: ApiError = { status: 503, message: 'No model tier can serve this request right now.', type: 'server_error', param: null, code: 'all_tiers_unavailable' };
/** The tier had no capacity (it is starting) within the longest hold, its hold queue was full, or every tier reached had none. */
export const NO_CAPACITY: ApiError = { status: 503, message: 'The model tier has no capacity yet (it is starting); retry later.', type: 'server_error', param: null, code: 'no_capacity' };
/** The longest Retry-After the OpenAI SDKs honour, s; beyond it they fall back to their own back-off. */
export const MAX_HONOURED_RETRY_AFTER_S = 60;

/** Outcomes without data, shared (one object each, not one per report). */
export const BREAKER_OPEN: Outcome = { kind: 'breaker-open' };
export const WAITED: Outcome = { kind: 'waited' };
export const DEADLINE_PASSED: Outcome = { kind: 'deadline' };
export const CLIENT_GONE: Outcome = { kind: 'client-gone' };
export const NO_CAPACITY_ANSWER: Outcome = { kind: 'no-capacity' };
export const RELEASED: Outcome = { kind: 'released' };
export const HOLD_EXPIRED: Outcome = { kind: 'hold-expired' };
export const HOLD_FULL: Outcome = { kind: 'hold-full' };
const ABANDON: Action = { kind: 'abandon' };

/** The decided tier first, then larger tiers (pay more rather than fail), then smaller ones. */
export function failoverOrder(decided: number, count: number): number[] {
  const out = [decided];
  for (let i = decided + 1; i < count; i++) out.push(i);
  for (let i = decided - 1; i >= 0; i--) out.push(i);
  return out;
}

/**
 * The first step of a request decided for tier `decided` of `tierCount`. `sameTierOnly`: the client
 * named the tier's model, so no other model may answer (same-tier retries only).
 */
export function start(decided: number, tierCount: number, sameTierOnly: boolean, cfg: PolicyConfig): Step {
  const state: DispatchState = {
    order: sameTierOnly ? [decided] : failoverOrder(decided, tierCount),
    at: 0,
    attempts: 0,
    retries: 0,
    only429: true,
    minRetryAfterMs: undefined,
    empty: [],
  };
  return proceed(state, cfg, 'none', false, 'failover');
}

/** Whether a response status ends the attempt as a failure (retry or fail over) rather than committing it. */
export function isRetryable(status: number): boolean {
  return status >= 500 || status === 429;
}

/**
 * Whether an answer is the tier's load balancer saying it has no healthy target: an ALB answers
 * 503 itself, with `Server: awselb/2.0`, when the target group has no registered target (a group at
 * zero) and a target receives nothing until it passed its first health check. A 503 from vLLM
 * (`server: uvicorn`, JSON body) is an overloaded or broken server, and a refused connection is
 * an unreachable load balancer: both are failures, never "no capacity".
 */
export function isNoCapacity(status: number, server: string | undefined): boolean {
  return status === 503 && server !== undefined && server.toLowerCase().startsWith('awselb/');
}

/** A held stream whose head went out: only its tier may answer now (no failover, no spill). */
export function pinToTier(s: DispatchState): DispatchState {
  return { ...s, order: [s.order[s.at]], at: 0 };
}

/** The step after `outcome`. */
export function next(s: DispatchState, outcome: Outcome, cfg: PolicyConfig): Step {
  switch (outcome.kind) {
    case 'breaker-open':
      return proceed(advance(s), cfg, 'none', false, 'failover');
    case 'waited':
    case 'released':
      return { state: s, action: { kind: 'attempt', tier: s.order[s.at], cause: 'failover' }, breaker: 'none', failed: false };
    case 'client-gone':
      return { state: s, action: ABANDON, breaker: 'release', failed: false };
    case 'no-capacity':
      return afterNoCapacity(s, cfg);
    case 'hold-expired':
    case 'hold-full':
      return { state: s, action: noCapacity(cfg, s.order[s.at]), breaker: 'none', failed: false };
    case 'status':
      if (outcome.status === 429) return after429(s, outcome.retryAfterMs, cfg);
      break;
    default:
      break;
  }
  // A 5xx, a failed connection or a deadline: the tier failed this attempt.
  const attempts = s.attempts + 1;
  if (outcome.kind === 'status' && s.retries < cfg.retries && attempts < cfg.maxAttempts) {
    const ms = Math.min(cfg.maxBackoffMs, cfg.backoffMs * 2 ** s.retries);
    return { state: { ...s, attempts, retries: s.retries + 1, only429: false }, action: { kind: 'wait', ms }, breaker: 'failure', failed: true };
  }
  return proceed(advance({ ...s, attempts, only429: false }), cfg, 'failure', true, 'failover');
}

/**
 * An empty tier is not a broken one: its breaker is released, not charged, and the instant answer
 * does not count against the attempt cap. The tier's config says whether the request waits for it
 * or spills to the next tier.
 */
function afterNoCapacity(s: DispatchState, cfg: PolicyConfig): Step {
  const tier = s.order[s.at];
  const first = !s.empty.includes(tier);
  const state: DispatchState = { ...s, only429: false, empty: first ? [...s.empty, tier] : s.empty };
  if (cfg.whenEmpty[tier] === 'hold') {
    return { state, action: { kind: 'hold', tier, ms: cfg.maxHoldMs[tier] }, breaker: 'release', failed: false, noCapacity: first };
  }
  return { ...proceed(advance(state), cfg, 'release', false, 'spill'), noCapacity: first };
}

/** A 429 says the tier is busy, not broken: its breaker is released, not charged. */
function after429(s: DispatchState, retryAfterMs: number | undefined, cfg: PolicyConfig): Step {
  const attempts = s.attempts + 1;
  const minRetryAfterMs = retryAfterMs === undefined ? s.minRetryAfterMs : Math.min(s.minRetryAfterMs ?? Infinity, retryAfterMs);
  const state = { ...s, attempts, minRetryAfterMs };
  if (retryAfterMs !== undefined && retryAfterMs <= cfg.maxRetryAfterMs && attempts < cfg.maxAttempts) {
    return { state, action: { kind: 'wait', ms: retryAfterMs }, breaker: 'release', failed: true };
  }
  return proceed(advance(state), cfg, 'release', true, 'failover');
}

/** The next tier in the order, with a fresh retry count. */
function advance(s: DispatchState): DispatchState {
  return { ...s, at: s.at + 1, retries: 0 };
}

/** Attempt the tier at `s.at`, or give up when every tier was tried or the attempt cap is reached. */
function proceed(s: DispatchState, cfg: PolicyConfig, breaker: BreakerVerdict, failed: boolean, cause: HopCause): Step {
  if (s.at >= s.order.length || s.attempts >= cfg.maxAttempts) return { state: s, action: giveUp(s, cfg), breaker, failed };
  return { state: s, action: { kind: 'attempt', tier: s.order[s.at], cause }, breaker, failed };
}

function giveUp(s: DispatchState, cfg: PolicyConfig): Action {
  if (s.attempts > 0 && s.only429) {
    return { kind: 'give-up', error: EVERY_TIER_BUSY, retryAfterSeconds: Math.max(1, Math.ceil((s.minRetryAfterMs ?? 1000) / 1000)) };
  }
  // Every tier reached was empty (the others, if any, had open breakers): they are starting.
  if (s.attempts === 0 && s.empty.length > 0) return noCapacity(cfg, s.empty[s.empty.length - 1]);
  return { kind: 'give-up', error: NO_TIER_AVAILABLE, retryAfterSeconds: 1 };
}

/** 503 `no_capacity`, retry after the tier's longest hold (a client then finds a turned-over queue), at most a minute. */
function noCapacity(cfg: PolicyConfig, tier: number): Action {
  return { kind: 'give-up', error: NO_CAPACITY, retryAfterSeconds: Math.min(MAX_HONOURED_RETRY_AFTER_S, Math.max(1, Math.ceil(cfg.maxHoldMs[tier] / 1000))) };
}

/** `Retry-After` in ms (seconds or an HTTP date), or undefined. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}
