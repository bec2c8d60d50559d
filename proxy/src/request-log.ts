/**
 * One log line per finished request. Lines are formatted and buffered in the check phase of the
 * event loop: when many streams end in one turn (and their clients send the next requests at
 * once), relaying comes first. A request that failed inside the proxy is logged at once, with its
 * error.
 */
import type { Logger } from 'pino';
import type { ExchangeResult } from './dispatch/types';

/** Buffers request lines and writes them once the turn's reads are handled. */
export class RequestLog {
  private pending: Array<{ warn: boolean; line: Record<string, unknown> }> = [];
  private queued = false;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Queues the line of a finished exchange. */
  add(ex: ExchangeResult): void {
    const r = ex.r;
    const d = ex.record;
    // The tier and reason come from the decision record that also rendered the route headers.
    const line = {
      requestId: r.requestId,
      path: r.path,
      status: ex.status,
      outcome: ex.outcome,
      tier: d.tierName(d.tier),
      reason: d.reason,
      score: d.decision.score,
      decidedTier: d.decidedTier,
      decidedReason: d.decidedReason,
      route: d.route,
      attempts: ex.attempts,
      stream: r.stream,
      ms: round1(this.now() - r.startedAt),
      ttftMs: ex.ttftMs === undefined ? undefined : round1(ex.ttftMs),
      promptTokens: ex.usage?.promptTokens,
      completionTokens: ex.usage?.completionTokens,
      failure: ex.lastFailure,
    };
    if (ex.outcome === 'internal-error') {
      // The request's one line, with the error that ended it.
      const err = ex.internalError instanceof Error ? ex.internalError : new Error(`non-error thrown: ${String(ex.internalError)}`);
      this.log.error({ ...line, err }, 'request failed inside the proxy');
      return;
    }
    const warn = !(ex.outcome === 'ok' || ex.outcome === 'passthrough' || ex.outcome === 'client-gone');
    this.pending.push({ warn, line });
    if (!this.queued) {
      this.queued = true;
      setImmediate(this.flush);
    }
  }

  /** Writes every queued line now (also at shutdown). */
  readonly flush = (): void => {
    this.queued = false;
    const lines = this.pending;
    if (lines.length === 0) return;
    this.pending = [];
    for (const { warn, line } of lines) {
      if (warn) this.log.warn(line, 'request failed');
      else this.log.info(line, 'request');
    }
  };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
