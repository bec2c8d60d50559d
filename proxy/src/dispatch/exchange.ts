/**
 * One client request's journey through the tiers: the adapter that performs what the dispatch
 * policy (`policy.ts`) decides (breaker permits, upstream attempts with their deadlines, waits,
 * holds for an empty tier, the final error) and hands a committed answer to the relay (`relay.ts`).
 *
 * A held stream commits its head when its first keep-alive is due: `200`, `text/event-stream`, the
 * route headers of the tier it waits for and `x-route-hold: <tier>`, then `: waiting for capacity`
 * comment lines. From then on only that tier may answer; if the hold expires (or the tier fails),
 * the stream ends with an SSE error event and no `[DONE]`.
 */
import type { ServerResponse } from 'node:http';
import { sendError, sseErrorFrame } from '../errors';
import type { Usage } from '../sse';
import type { ResponseHandlers, ResponseHead, UpstreamCall } from '../transport/types';
import { upstreamBody } from './body';
import type { DecisionRecord } from './decision';
import { HoldTicket, type HoldWaiter } from './hold';
import {
  BREAKER_OPEN,
  CLIENT_GONE,
  DEADLINE_PASSED,
  HOLD_EXPIRED,
  HOLD_FULL,
  NO_CAPACITY_ANSWER,
  RELEASED,
  WAITED,
  isNoCapacity,
  isRetryable,
  next,
  parseRetryAfter,
  pinToTier,
  start,
  type DispatchState,
  type HopCause,
  type Step,
} from './policy';
import { Relay, type RelayOwner } from './relay';
import type { DispatchEnv, ExchangeOutcome, ExchangeResult, RoutedRequest, TierRuntime } from './types';

const WAITING = Buffer.from(': waiting for capacity\n\n');

/** One client request's journey through the tiers. */
export class Exchange implements ResponseHandlers, RelayOwner, HoldWaiter, ExchangeResult {
  outcome: ExchangeOutcome | undefined;
  servedTier: number | undefined;
  attempts = 0;
  status = 0;
  ttftMs: number | undefined;
  usage: Usage | undefined;
  lastFailure: string | undefined;
  sessionId: string | undefined;

  private state: DispatchState | undefined;
  /** Tier of the attempt in flight, then of the answer being relayed; counted in its in-flight gauge. */
  private tier: TierRuntime | undefined;
  private call: UpstreamCall | undefined;
  /** The attempt's first-token (or non-stream) deadline, or a wait before the next attempt. */
  private timer: NodeJS.Timeout | undefined;
  private relay: Relay | undefined;
  /** Status of the committed answer (the client saw 200 instead when a held stream's head went out first). */
  private answered = 0;
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
      this.call?.destroy('client-left');
      this.tier?.breaker.release();
      this.finish('client-gone');
      return;
    }
    this.endAttempt('client-left');
    this.unqueue();
    this.apply(next(this.state!, CLIENT_GONE, this.env.policy));
  }

  onHead(h: ResponseHead): void {
    const status = h.status;
    if (isNoCapacity(status, h.headers.server)) {
      this.endAttempt('fault');
      this.lastFailure = 'no capacity';
      this.apply(next(this.state!, NO_CAPACITY_ANSWER, this.env.policy));
      return;
    }
    if (isRetryable(status)) {
      const retryAfterMs = status === 429 ? parseRetryAfter(h.headers['retry-after']) : undefined;
      this.endAttempt('fault');
      this.lastFailure = `status ${status}`;
      this.apply(next(this.state!, { kind: 'status', status, retryAfterMs }, this.env.policy));
      return;
    }
    // 2xx streams or JSON; other 4xx pass through unchanged. Either way this tier answered.
    this.clearTimer();
    this.hold?.stopKeepAlive();
    const t = this.tier!;
    t.breaker.success();
    this.answered = status;
    if (!this.headSent) this.status = status;
    this.relay = new Relay(this.res, this, this.env.dispatch.idleTimeoutMs);
    this.relay.start(this.call!, status, h, this.headSent ? [] : this.record.headers(), !this.r.clientWantsUsage, this.headSent);
    if (status < 300) t.metrics.routed.inc();
    // The tier answered: whoever waits for its capacity can go.
    const held = this.env.holds[t.index];
    if (held.length > 0) held.releaseAll();
  }

  onBody(data: Buffer | undefined, complete: boolean): void {
    this.relay!.body(data, complete);
  }

  onFail(code: string): void {
    if (this.relay) {
      this.relay.fail('The model tier closed the connection mid-answer.', 'upstream_reset');
      return;
    }
    this.endAttempt(undefined);
    this.lastFailure = `connect ${code}`;
    this.apply(next(this.state!, { kind: 'connect', code }, this.env.policy));
  }

  relayFirstByte(): void {
    this.ttftMs = this.env.now() - this.r.startedAt;
    if (this.answered < 300) this.tier!.metrics.ttft.record(this.ttftMs);
  }

  relayEnded(): void {
    this.usage = this.relay!.usage;
    this.tier!.breaker.success();
    this.finish(this.answered < 300 ? 'ok' : 'passthrough');
  }

  relayBroke(code: string): void {
    const t = this.tier!;
    this.lastFailure = code;
    this.usage = this.relay!.usage;
    if (!this.call!.complete) this.call!.destroy('fault');
    t.metrics.upstreamErrors.inc();
    t.breaker.failure(this.env.now());
    this.finish('upstream-failed');
  }

  /** The first-token (or non-stream) deadline passed without response headers. */
  deadlinePassed(): void {
    this.timer = undefined;
    this.endAttempt('fault');
    this.lastFailure = 'first-token deadline';
    this.apply(next(this.state!, DEADLINE_PASSED, this.env.policy));
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
        this.attempt(this.env.tiers[a.tier], a.cause);
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

  private attempt(t: TierRuntime, cause: HopCause): void {
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
    const headers = ['Content-Type', 'application/json', 'Accept', this.r.stream ? 'text/event-stream' : 'application/json', 'X-Request-Id', this.r.requestId];
    this.call = t.upstream.stream(this.r.path, headers, this.body!, this);
    const d = this.env.dispatch;
    this.timer = setTimeout(onDeadline, this.r.stream ? d.firstTokenTimeoutMs : d.nonStreamTimeoutMs, this);
  }

  /** Ends the attempt in flight (if any) before its outcome goes to the policy. */
  private endAttempt(why: 'fault' | 'client-left' | undefined): void {
    this.clearTimer();
    const c = this.call;
    this.call = undefined;
    if (c && why) c.destroy(why);
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

function onDeadline(ex: Exchange): void {
  ex.deadlinePassed();
}

function onWaited(ex: Exchange): void {
  ex.waited();
}

function onHoldExpired(ex: Exchange): void {
  ex.holdExpired();
}

function onKeepAlive(ex: Exchange): void {
  ex.keepAliveDue();
}
