/**
 * Requests held for a tier that has no capacity (its load balancer has no healthy target), in a
 * bounded queue, until capacity appears. While anyone waits, the tier is probed on `/health` every
 * probe interval (one probe at a time, whatever the number of waiters: the tier is not hammered);
 * a probe that succeeds, or any answer the tier gives another request, releases every waiter.
 */

/** A request waiting for capacity. */
export interface HoldWaiter {
  /** Capacity appeared: the waiter left the queue and may try the tier again. */
  released(): void;
  /** An error inside the proxy while the waiter was released; false when the waiter had already ended. */
  internalFailure(err: unknown): boolean;
}

/** The held requests of one tier. */
export class HoldQueue {
  private readonly waiters: HoldWaiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;

  /**
   * `size`: waiters at most; `probeIntervalMs`: time between probes; `probe`: resolves true when the
   * tier has capacity (never rejects).
   */
  constructor(
    private readonly size: number,
    private readonly probeIntervalMs: number,
    private readonly probe: () => Promise<boolean>,
  ) {}

  /** Requests waiting now. */
  get length(): number {
    return this.waiters.length;
  }

  /** Queues a waiter; false when the queue is full. */
  add(w: HoldWaiter): boolean {
    if (this.closed || this.waiters.length >= this.size) return false;
    this.waiters.push(w);
    if (this.timer === undefined && !this.probing) this.schedule();
    return true;
  }

  /** Takes a waiter out (its wait expired, or its client left). */
  remove(w: HoldWaiter): void {
    const k = this.waiters.indexOf(w);
    if (k >= 0) this.waiters.splice(k, 1);
    if (this.waiters.length === 0) this.stopProbing();
  }

  /** The tier has capacity: every waiter is released, first come first. */
  releaseAll(): void {
    if (this.waiters.length === 0) return;
    const ws = this.waiters.splice(0);
    this.stopProbing();
    for (const w of ws) {
      // One waiter's error ends that waiter alone; the others are released all the same.
      try {
        w.released();
      } catch (err) {
        if (!w.internalFailure(err)) throw err;
      }
    }
  }

  /** Stops probing for good (shutdown); waiters end with their clients. */
  close(): void {
    this.closed = true;
    this.stopProbing();
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.tick(), this.probeIntervalMs);
  }

  private stopProbing(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.waiters.length === 0 || this.closed) return;
    this.probing = true;
    const ok = await this.probe();
    this.probing = false;
    if (this.closed) return;
    if (ok) this.releaseAll();
    else if (this.waiters.length > 0 && this.timer === undefined) this.schedule();
  }
}

/** One request's wait for an empty tier: its deadline, its place in the queue, a held stream's keep-alive. */
export class HoldTicket {
  /** When the current wait started (env clock). */
  since: number;
  /** When the request stops waiting for this tier (env clock); waiting again for it keeps this. */
  readonly deadline: number;
  /** In the tier's queue now. */
  queued = false;
  /** A held stream's keep-alive comments. */
  keepAlive: NodeJS.Timeout | undefined;

  constructor(
    /** The tier waited for. */
    readonly tier: number,
    now: number,
    ms: number,
  ) {
    this.since = now;
    this.deadline = now + ms;
  }

  /** Joins `queue` at `now` as `waiter`: `queued`, or why not (past the deadline, queue full). */
  join(queue: HoldQueue, waiter: HoldWaiter, now: number): 'queued' | 'expired' | 'full' {
    if (now >= this.deadline) return 'expired';
    if (!queue.add(waiter)) return 'full';
    this.queued = true;
    this.since = now;
    return 'queued';
  }

  /** Leaves `queue`, if in it. */
  leave(queue: HoldQueue, waiter: HoldWaiter): void {
    if (!this.queued) return;
    this.queued = false;
    queue.remove(waiter);
  }

  /** Stops the keep-alive comments, if any. */
  stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }
}
