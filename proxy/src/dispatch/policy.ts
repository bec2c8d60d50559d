/**
 * What a request does after each upstream attempt that did not commit: retry the same tier after a
 * back-off or a 429's Retry-After, fail over to the next tier, or give up. Pure and table-tested;
 * the exchange (`exchange.ts`) performs each action and reports what came of it.
 *
 * Retries and failover happen strictly before the first byte reaches the client; once a tier
 * answered with anything but a 5xx or a 429 the request is committed and never comes back here.
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
  /** No response headers within the first-token (or non-stream) deadline. */
  | { readonly kind: 'deadline' }
  /** The client closed the connection. */
  | { readonly kind: 'client-gone' };

/** What to do next. */
export type Action =
  /** Take a permit from tier `tier`'s breaker (report `breaker-open` if refused) and send the request. */
  | { readonly kind: 'attempt'; readonly tier: number }
  /** Wait `ms`, then report `waited`. */
  | { readonly kind: 'wait'; readonly ms: number }
  /** Answer the client with `error` and a Retry-After of `retryAfterSeconds`. */
  | { readonly kind: 'give-up'; readonly error: ApiError; readonly retryAfterSeconds: number }
  /** The client left: stop without an answer. */
  | { readonly kind: 'abandon' };

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
}

/** Every tier answered 429: the client may retry after the shortest Retry-After. */
export const EVERY_TIER_BUSY: ApiError = { status: 429, message: 'Every model tier is at capacity; retry later.', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' };
/** No tier could serve (failures, open breakers, the attempt cap). */
export const NO_TIER_AVAILABLE: ApiError = { status: 503, message: 'No model tier can serve this request right now.', type: 'server_error', param: null, code: 'all_tiers_unavailable' };

/** Outcomes without data, shared (one object each, not one per report). */
export const BREAKER_OPEN: Outcome = { kind: 'breaker-open' };
export const WAITED: Outcome = { kind: 'waited' };
export const DEADLINE_PASSED: Outcome = { kind: 'deadline' };
export const CLIENT_GONE: Outcome = { kind: 'client-gone' };
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
  };
  return proceed(state, cfg, 'none', false);
}

/** Whether a response status ends the attempt as a failure (retry or fail over) rather than committing it. */
export function isRetryable(status: number): boolean {
  return status >= 500 || status === 429;
}

/** The step after `outcome`. */
export function next(s: DispatchState, outcome: Outcome, cfg: PolicyConfig): Step {
  switch (outcome.kind) {
    case 'breaker-open':
      return proceed(advance(s), cfg, 'none', false);
    case 'waited':
      return { state: s, action: { kind: 'attempt', tier: s.order[s.at] }, breaker: 'none', failed: false };
    case 'client-gone':
      return { state: s, action: ABANDON, breaker: 'release', failed: false };
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
  return proceed(advance({ ...s, attempts, only429: false }), cfg, 'failure', true);
}

/** A 429 says the tier is busy, not broken: its breaker is released, not charged. */
function after429(s: DispatchState, retryAfterMs: number | undefined, cfg: PolicyConfig): Step {
  const attempts = s.attempts + 1;
  const minRetryAfterMs = retryAfterMs === undefined ? s.minRetryAfterMs : Math.min(s.minRetryAfterMs ?? Infinity, retryAfterMs);
  const state = { ...s, attempts, minRetryAfterMs };
  if (retryAfterMs !== undefined && retryAfterMs <= cfg.maxRetryAfterMs && attempts < cfg.maxAttempts) {
    return { state, action: { kind: 'wait', ms: retryAfterMs }, breaker: 'release', failed: true };
  }
  return proceed(advance(state), cfg, 'release', true);
}

/** The next tier in the order, with a fresh retry count. */
function advance(s: DispatchState): DispatchState {
  return { ...s, at: s.at + 1, retries: 0 };
}

/** Attempt the tier at `s.at`, or give up when every tier was tried or the attempt cap is reached. */
function proceed(s: DispatchState, cfg: PolicyConfig, breaker: BreakerVerdict, failed: boolean): Step {
  if (s.at >= s.order.length || s.attempts >= cfg.maxAttempts) return { state: s, action: giveUp(s), breaker, failed };
  return { state: s, action: { kind: 'attempt', tier: s.order[s.at] }, breaker, failed };
}

function giveUp(s: DispatchState): Action {
  if (s.attempts > 0 && s.only429) {
    return { kind: 'give-up', error: EVERY_TIER_BUSY, retryAfterSeconds: Math.max(1, Math.ceil((s.minRetryAfterMs ?? 1000) / 1000)) };
  }
  return { kind: 'give-up', error: NO_TIER_AVAILABLE, retryAfterSeconds: 1 };
}

/** `Retry-After` in ms (seconds or an HTTP date), or undefined. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}
