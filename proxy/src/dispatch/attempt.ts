/**
 * One upstream attempt of an exchange: the POST to a tier, the attempt's deadline, and what the
 * tier's answer head means: no capacity, a status worth another attempt (5xx, 429), or an answer to
 * relay. The exchange hears the verdict and lets the dispatch policy decide what follows.
 */
import type { GiveUpReason, ResponseHandlers, ResponseHead, UpstreamCall } from '../transport/types';
import { DEADLINE_PASSED, NO_CAPACITY_ANSWER, isNoCapacity, isRetryable, parseRetryAfter, type Outcome } from './policy';
import type { RoutedRequest, TierRuntime } from './types';

/** What an attempt tells the exchange that made it. */
export interface AttemptOwner {
  /** The tier answered with a head to relay (2xx, or a 4xx passed through); the deadline is off. */
  answered(a: Attempt, head: ResponseHead): void;
  /** Body bytes of that answer (see `ResponseHandlers.onBody`). */
  answerBody(data: Buffer | undefined, complete: boolean): void;
  /** The connection broke after the answer's head. */
  answerBroke(): void;
  /** The attempt ended without an answer to relay (its call is given up): `failure` names why, for the log. */
  attemptFailed(outcome: Outcome, failure: string): void;
  /** An error inside the proxy in one of the attempt's callbacks; false when the exchange had already ended. */
  internalFailure(err: unknown): boolean;
}

/** One POST to a tier and its deadline. */
export class Attempt implements ResponseHandlers {
  readonly call: UpstreamCall;
  private timer: NodeJS.Timeout | undefined;
  private hasAnswer = false;

  /**
   * Sends `body` to `tier` now; `deadlineMs`: time allowed for the answer's head (an attempt without
   * one by then is given up and reported as `deadline`).
   */
  constructor(
    readonly tier: TierRuntime,
    private readonly owner: AttemptOwner,
    r: RoutedRequest,
    body: Buffer,
    deadlineMs: number,
  ) {
    const headers = ['Content-Type', 'application/json', 'Accept', r.stream ? 'text/event-stream' : 'application/json', 'X-Request-Id', r.requestId];
    this.call = tier.upstream.stream(r.path, headers, body, this);
    this.timer = setTimeout(onDeadline, deadlineMs, this);
  }

  onHead(h: ResponseHead): void {
    const status = h.status;
    if (isNoCapacity(status, h.headers.server)) return this.failed(NO_CAPACITY_ANSWER, 'no capacity');
    if (isRetryable(status)) {
      const retryAfterMs = status === 429 ? parseRetryAfter(h.headers['retry-after']) : undefined;
      return this.failed({ kind: 'status', status, retryAfterMs }, `status ${status}`);
    }
    // 2xx streams or JSON; other 4xx pass through unchanged. Either way this tier answered.
    this.clearTimer();
    this.hasAnswer = true;
    this.owner.answered(this, h);
  }

  onBody(data: Buffer | undefined, complete: boolean): void {
    this.owner.answerBody(data, complete);
  }

  onFail(code: string): void {
    if (this.hasAnswer) return this.owner.answerBroke();
    this.clearTimer();
    this.owner.attemptFailed({ kind: 'connect', code }, `connect ${code}`);
  }

  /** A callback threw; the transport already gave the call up. */
  onInternalError(err: unknown): void {
    this.clearTimer();
    if (!this.owner.internalFailure(err)) throw err;
  }

  /** No answer head within the deadline: the call is given up (its connection closed, so vLLM frees the slot). */
  deadlinePassed(): void {
    this.timer = undefined;
    this.failed(DEADLINE_PASSED, 'response-headers deadline');
  }

  /** Gives the attempt up (`why`: see {@link GiveUpReason}); no callback follows. */
  end(why: GiveUpReason): void {
    this.clearTimer();
    this.call.destroy(why);
  }

  private failed(outcome: Outcome, failure: string): void {
    this.end('fault');
    this.owner.attemptFailed(outcome, failure);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function onDeadline(a: Attempt): void {
  try {
    a.deadlinePassed();
  } catch (err) {
    a.onInternalError(err);
  }
}
