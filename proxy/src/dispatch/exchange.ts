/**
 * One client request's journey through the tiers: the adapter that performs what the dispatch
 * policy (`policy.ts`) decides (breaker permits, upstream attempts (`attempt.ts`), waits, holds for
 * an empty tier, the final error) and hands a committed answer to the relay (`relay.ts`).
 *
 * A held stream commits its head when its first keep-alive is due: `200`, `text/event-stream`, the
 * route headers of the tier it waits for and `x-route-hold: <tier>`, then `: waiting for capacity`
 * comment lines. From then on only that tier may answer; if the hold expires (or the tier fails),
 * the stream ends with an SSE error event and no `[DONE]`.
 *
 * A streamed request's attempt has until the response-headers deadline (or the first-token deadline,
 * if sooner) to get the tier's headers, else it fails over; once a tier answered, the relay waits
 * for the first token until the first-token deadline, counted from when the request went out.
 *
 * An error inside the proxy while the exchange runs (in a transport callback, a timer, a hold
 * release) ends this exchange alone ({@link Exchange.internalFailure}); nothing reaches the process.
 */
import type { ServerResponse } from 'node:http';
import { sendError, sseErrorFrame } from '../errors';
import { INTERNAL_ERROR } from '../guard';
import type { Usage } from '../sse';
import type { ResponseHead } from '../transport/types';
import { Attempt, type AttemptOwner } from './attempt';
import { upstreamBody } from './body';
import type { DecisionRecord } from './decision';
import { HoldTicket, type HoldWaiter } from './hold';
import { BREAKER_OPEN, CLIENT_GONE, HOLD_EXPIRED, HOLD_FULL, RELEASED, WAITED, next, pinToTier, start, type DispatchState, type HopCause, type Outcome, type Step } from './policy';
import { Relay, type RelayOwner } from './relay';
import type { DispatchEnv, ExchangeOutcome, ExchangeResult, RoutedRequest, TierRuntime } from './types';

const WAITING = Buffer.from(': waiting for capacity\n\n');

/** One client request's journey through the tiers. */
export class Exchange implements AttemptOwner, RelayOwner, HoldWaiter, ExchangeResult {
  outcome: ExchangeOutcome | undefined;
  servedTier: number | undefined;
  attempts = 0;
  status = 0;
  ttftMs: number | undefined;
  usage: Usage | undefined;
  lastFailure: string | undefined;
  sessionId: string | undefined;
  internalError: unknown;

  private state: DispatchState | undefined;
  /** Tier of the attempt in flight, then of the answer being relayed; counted in its in-flight gauge. */
  private tier: TierRuntime | undefined;
  /** The attempt in flight, then the one whose answer is relayed. */
  private attempt: Attempt | undefined;
  /** When that attempt went out (env clock): its first-token deadline counts from here. */
  private sentAt = 0;
  /** A wait before the next attempt, or a hold's deadline. */
  private timer: NodeJS.Timeout | undefined;
  private relay: Relay | undefined;
  /** Status of the committed answer (the client saw 200 instead when a held stream's head went out first). */
  private answerStatus = 0;
  private hold: HoldTicket | undefined;
  /** A held stream's head is out: errors become SSE error events. */
  private headSent = false;
  /** Upstream body of the tier `bodyTier`, made once per tier. */
  private body: Buffer | undefined;
  private bodyTier = -1;
  private clientGone = false;

  constructor(
    private readonly env: DispatchEnv,
    /** The request being served. */
    readonly r: RoutedRequest,
    private readonly res: ServerResponse,
    /** The routing decision; it renders the route headers and the log line's route fields. */
    readonly record: DecisionRecord,
  ) {}

  /** Starts the first attempt; the exchange reports its end through `env.onDone`. */
  run(): void {
    this.apply(start(this.r.decision.tier, this.env.tiers.length, this.r.modelNamed, this.env.policy));
  }

  /** The client connection closed before the response finished. */
  clientClosed(): void {
    if (this.clientGone || this.outcome !== undefined) return;
    this.clientGone = true;
    if (this.relay) {
      this.relay.stop();
      this.attempt?.end('client-left');
      this.tier?.breaker.release();
      this.finish('client-gone');
      return;
    }
    this.clearTimer();
    this.attempt?.end('client-left');
    this.attempt = undefined;
    this.unqueue();
    this.apply(next(this.state!, CLIENT_GONE, this.env.policy));
  }

  /**
   * Ends the exchange after an error inside the proxy, which is not the tier's fault: the upstream
   * call is given up (its connection closed, so vLLM frees the slot) and no breaker counts it. The
   * client gets a 500 before anything went out, an SSE error event (no `[DONE]`) on a stream whose
   * head is out, a cut connection on any other answer under way. False when it had already ended.
   */
  internalFailure(err: unknown): boolean {
    if (this.outcome !== undefined) return false;
    this.internalError = err;
    this.lastFailure = 'internal_error';
    this.clearTimer();
    this.unqueue();
    this.attempt?.end('fault');
    const relay = this.relay;
    if (relay) {
      relay.abort('The proxy failed while relaying this answer.', 'internal_error');
      this.usage = relay.usage;
    } else {
      // An attempt's permit, if one is out: the tier did nothing wrong.
      this.tier?.breaker.release();
      if (this.headSent) {
        this.res.end(sseErrorFrame('The proxy failed while handling this request.', 'internal_error'));
      } else {
        this.status = INTERNAL_ERROR.status;
        sendError(this.res, INTERNAL_ERROR, this.record.headers(), true);
      }
    }
    this.finish('internal-error');
    return true;
  }

  answered(a: Attempt, h: ResponseHead): void {
    const status = h.status;
    this.hold?.stopKeepAlive();
    const t = a.tier;
    t.breaker.success();
    this.answerStatus = status;
    if (!this.headSent) this.status = status;
    const d = this.env.dispatch;
    // A stream's headers come before vLLM schedules it: its first token may wait in the queue.
    const wait = this.r.stream ? { withinMs: Math.max(0, this.sentAt + d.firstTokenTimeoutMs - this.env.now()), keepAliveMs: d.holdKeepAliveMs } : undefined;
    this.relay = new Relay(this.res, this, d.idleTimeoutMs);
    this.relay.start(a.call, status, h, this.headSent ? [] : this.record.headers(), !this.r.clientWantsUsage, this.headSent, wait);
    if (status < 300) t.metrics.routed.inc();
    // The tier answered: whoever waits for its capacity can go.
    const held = this.env.holds[t.index];
    if (held.length > 0) held.releaseAll();
  }

  answerBody(data: Buffer | undefined, complete: boolean): void {
    this.relay!.body(data, complete);
  }

  answerBroke(): void {
    this.relay!.fail('The model tier closed the connection mid-answer.', 'upstream_reset');
  }

  attemptFailed(outcome: Outcome, failure: string): void {
    this.attempt = undefined;
    this.lastFailure = failure;
    this.apply(next(this.state!, outcome, this.env.policy));
  }

  relayFirstByte(): void {
    this.ttftMs = this.env.now() - this.r.startedAt;
    if (this.answerStatus < 300) this.tier!.metrics.ttft.record(this.ttftMs);
  }

  relayEnded(): void {
    this.usage = this.relay!.usage;
    this.tier!.breaker.success();
    this.finish(this.answerStatus < 300 ? 'ok' : 'passthrough');
  }

  relayBroke(code: string): void {
    const t = this.tier!;
    this.lastFailure = code;
    this.usage = this.relay!.usage;
    if (!this.attempt!.call.complete) this.attempt!.end('fault');
    t.metrics.upstreamErrors.inc();
    t.breaker.failure(this.env.now());
    this.finish('upstream-failed');
  }

  /** A wait before the next attempt ended. */
  waited(): void {
    this.timer = undefined;
    this.apply(next(this.state!, WAITED, this.env.policy));
  }

  /** The held-for tier has capacity: try it again. */
  released(): void {
    const h = this.hold!;
    h.queued = false;
    this.clearTimer();
    this.record.held(h.tier, this.env.now() - h.since);
    this.apply(next(this.state!, RELEASED, this.env.policy));
  }

  /** The hold's deadline passed. */
  holdExpired(): void {
    this.timer = undefined;
    const h = this.hold!;
    this.unqueue();
    this.record.held(h.tier, this.env.now() - h.since);
    this.apply(next(this.state!, HOLD_EXPIRED, this.env.policy));
  }

  /** A held stream's keep-alive: the first sends the head (and pins the request to its tier), each a comment line. */
  keepAliveDue(): void {
    if (!this.headSent) {
      this.headSent = true;
      this.status = 200;
      this.state = pinToTier(this.state!);
      const head = this.record.headers(['content-type', 'text/event-stream', 'cache-control', 'no-cache']);
      head.push('x-route-hold', this.record.tierName(this.hold!.tier));
      this.res.writeHead(200, head);
    }
    this.res.write(WAITING);
  }

  /** Performs one policy step; the verdict on the attempt that just ended comes first. */
  private apply(step: Step): void {
    const t = this.tier;
    if (t) {
      if (step.breaker === 'failure') t.breaker.failure(this.env.now());
      else if (step.breaker === 'release') t.breaker.release();
      if (step.failed) t.metrics.upstreamErrors.inc();
      if (step.noCapacity) t.metrics.noCapacity.inc();
      t.metrics.pending--;
      this.tier = undefined;
    }
    this.state = step.state;
    const a = step.action;
    switch (a.kind) {
      case 'attempt':
        this.send(this.env.tiers[a.tier], a.cause);
        return;
      case 'wait':
        this.timer = setTimeout(onWaited, a.ms, this);
        return;
      case 'hold':
        this.holdFor(a.tier, a.ms);
        return;
      case 'give-up':
        if (this.headSent) {
          this.res.end(sseErrorFrame(a.error.message, a.error.code ?? 'server_error'));
        } else {
          this.status = a.error.status;
          sendError(this.res, a.error, this.record.headers().concat('retry-after', String(a.retryAfterSeconds)));
        }
        this.finish('unavailable');
        return;
      case 'abandon':
        this.finish('client-gone');
        return;
    }
  }

  private send(t: TierRuntime, cause: HopCause): void {
    if (!t.breaker.tryAcquire(this.env.now())) {
      this.apply(next(this.state!, BREAKER_OPEN, this.env.policy));
      return;
    }
    this.attempts++;
    this.record.moveTo(t.index, cause);
    this.tier = t;
    this.servedTier = t.index;
    t.metrics.pending++;
    if (this.bodyTier !== t.index) {
      this.body = upstreamBody(this.r, t.cfg.model);
      this.bodyTier = t.index;
    }
    const d = this.env.dispatch;
    this.sentAt = this.env.now();
    const deadline = this.r.stream ? Math.min(d.responseHeadersTimeoutMs, d.firstTokenTimeoutMs) : d.nonStreamTimeoutMs;
    this.attempt = new Attempt(t, this, this.r, this.body!, deadline);
  }

  /** Queues the request for tier `tier` until it has capacity, up to `ms` from the first hold for that tier. */
  private holdFor(tier: number, ms: number): void {
    const now = this.env.now();
    const prev = this.hold;
    const h = prev !== undefined && prev.tier === tier ? prev : (this.hold = new HoldTicket(tier, now, ms));
    if (prev !== undefined && prev !== h) h.keepAlive = prev.keepAlive;
    const joined = h.join(this.env.holds[tier], this, now);
    if (joined !== 'queued') {
      this.apply(next(this.state!, joined === 'full' ? HOLD_FULL : HOLD_EXPIRED, this.env.policy));
      return;
    }
    this.timer = setTimeout(onHoldExpired, h.deadline - now, this);
    if (this.r.stream && h.keepAlive === undefined && !this.headSent) h.keepAlive = setInterval(onKeepAlive, this.env.dispatch.holdKeepAliveMs, this);
  }

  /** Leaves the hold queue, if in it. */
  private unqueue(): void {
    const h = this.hold;
    if (h) h.leave(this.env.holds[h.tier], this);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private finish(outcome: ExchangeOutcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    this.clearTimer();
    this.hold?.stopKeepAlive();
    const t = this.tier;
    if (t) {
      if (this.usage) t.metrics.usage(this.usage.promptTokens, this.usage.completionTokens);
      if (outcome === 'ok') t.metrics.e2e.record(this.env.now() - this.r.startedAt);
      t.metrics.pending--;
      this.tier = undefined;
    }
    this.env.onDone(this);
  }
}

/** Runs one timer step of `ex`; an error inside it ends that exchange alone. */
function step(ex: Exchange, fn: (this: Exchange) => void): void {
  try {
    fn.call(ex);
  } catch (err) {
    if (!ex.internalFailure(err)) throw err;
  }
}

function onWaited(ex: Exchange): void {
  step(ex, ex.waited);
}

function onHoldExpired(ex: Exchange): void {
  step(ex, ex.holdExpired);
}

function onKeepAlive(ex: Exchange): void {
  step(ex, ex.keepAliveDue);
}
