/** Per-tier circuit breaker: opens after N failures in a window, half-opens with one probe after a cooldown. */

/** Breaker state as shown on `/readyz`. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Thresholds of a breaker. */
export interface BreakerOptions {
  /** Failures within `windowMs` that open it. */
  readonly failures: number;
  /** Counting window, ms. */
  readonly windowMs: number;
  /** Open time before a half-open probe, ms. */
  readonly cooldownMs: number;
}

/** A circuit breaker; callers acquire a permit per attempt and report how it went. */
export class CircuitBreaker {
  private readonly failureTimes: number[] = [];
  private openedAt = -1;
  private probing = false;

  constructor(private readonly opts: BreakerOptions) {}

  /** Current state at `now`. */
  state(now: number): BreakerState {
    if (this.openedAt < 0) return 'closed';
    return now - this.openedAt >= this.opts.cooldownMs ? 'half-open' : 'open';
  }

  /**
   * Permission for one attempt: always when closed; when the cooldown has passed, to exactly one
   * probe at a time; never while open.
   */
  tryAcquire(now: number): boolean {
    const s = this.state(now);
    if (s === 'closed') return true;
    if (s === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** True when an attempt would be allowed now (no permit taken). */
  available(now: number): boolean {
    const s = this.state(now);
    return s === 'closed' || (s === 'half-open' && !this.probing);
  }

  /** The attempt succeeded: a probe closes the breaker. */
  success(): void {
    if (this.openedAt >= 0 && this.probing) {
      this.openedAt = -1;
      this.failureTimes.length = 0;
    }
    this.probing = false;
  }

  /** The attempt failed: count it; a failed probe re-opens for another cooldown. */
  failure(now: number): void {
    if (this.openedAt >= 0) {
      if (this.probing) this.openedAt = now;
      this.probing = false;
      return;
    }
    const t = this.failureTimes;
    t.push(now);
    while (t.length > 0 && now - t[0] > this.opts.windowMs) t.shift();
    if (t.length > this.opts.failures) t.shift();
    if (t.length >= this.opts.failures) {
      this.openedAt = now;
      t.length = 0;
    }
  }

  /** The attempt ended without telling anything about the tier (client left, 429): free the probe. */
  release(): void {
    this.probing = false;
  }
}
