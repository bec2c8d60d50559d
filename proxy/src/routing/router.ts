/** Runs the two scoring calls in parallel with their own deadlines and applies the decision rules. */
import { CLIENT_GONE, DEADLINE, FAST_PATH } from '../abort-reasons';
import type { Centroids } from './embedding';
import { promptScore } from './model';
import type { RatingResult } from './rating';
import { combine, fastPathDecision, keywordDecision, type DecisionPolicy, type RouteDecision, type Signal } from './decide';

/** Failure of a scoring call; `why` ends up in the route reason (`timeout`, `error`, `garbage`). */
export class ScoringError extends Error {
  constructor(readonly why: string, message?: string) {
    super(message ?? why);
  }
}

/** The scoring back-ends the router talks to (injected; tests pass fakes). */
export interface ScoringBackends {
  /** Embeds one text; rejects on failure. `requestId` goes upstream as `x-request-id`. */
  embed(text: string, signal: AbortSignal, requestId?: string): Promise<ArrayLike<number>>;
  /** Rates one text 0-10; rejects on failure. `requestId` goes upstream as `x-request-id`. */
  rate(text: string, signal: AbortSignal, requestId?: string): Promise<RatingResult>;
  /** Class centroids, once the exemplars are embedded. */
  centroids(): Centroids | undefined;
}

/** Deadlines and scale of one scoring round. */
export interface ScoringOptions {
  /** Embedding call deadline, ms. */
  readonly embeddingTimeoutMs: number;
  /** Rating call deadline, ms. */
  readonly scorerTimeoutMs: number;
  /** Multiplier inside the logistic. */
  readonly embeddingScale: number;
}

/** A decision plus what scoring cost. */
export interface ScoredDecision extends RouteDecision {
  /** Whether any scoring call was made. */
  readonly scored: boolean;
}

/**
 * Scores one text. `signal` is the client's: when it aborts, both calls are aborted and the promise
 * rejects with the signal's reason. `requestId` is passed to both calls (their `x-request-id`).
 */
export async function scoreText(
  text: string,
  hit: boolean,
  policy: DecisionPolicy,
  backends: ScoringBackends,
  opts: ScoringOptions,
  signal?: AbortSignal,
  requestId?: string,
): Promise<ScoredDecision> {
  const forced = keywordDecision(policy, hit);
  if (forced) return { ...forced, scored: false };
  const centroids = backends.centroids();
  const scorerCtl = new AbortController();
  const embedCtl = centroids ? new AbortController() : undefined;
  const onClientAbort = () => {
    scorerCtl.abort(CLIENT_GONE);
    embedCtl?.abort(CLIENT_GONE);
  };
  signal?.addEventListener('abort', onClientAbort, { once: true });
  try {
    const ratingP = runWithDeadline(opts.scorerTimeoutMs, scorerCtl, (s) => backends.rate(text, s, requestId)).then(
      (r): Signal => (r.ok ? (r.value.ok ? { ok: true, value: r.value.rating / 10 } : { ok: false, why: r.value.why }) : r),
    );
    let embedding: Signal;
    if (!centroids || !embedCtl) {
      embedding = { ok: false, why: 'not-ready' };
    } else {
      const r = await runWithDeadline(opts.embeddingTimeoutMs, embedCtl, (s) => backends.embed(text, s, requestId));
      if (r.ok) {
        try {
          embedding = { ok: true, value: promptScore(text, r.value, centroids, opts.embeddingScale) };
        } catch {
          embedding = { ok: false, why: 'garbage' };
        }
      } else embedding = r;
      if (embedding.ok) {
        const fast = fastPathDecision(policy, embedding.value, hit);
        if (fast) {
          scorerCtl.abort(FAST_PATH);
          ratingP.catch(() => undefined);
          throwIfAborted(signal);
          return { ...fast, scored: true };
        }
      }
    }
    const rating = await ratingP;
    throwIfAborted(signal);
    return { ...combine(policy, embedding, rating, hit), scored: true };
  } finally {
    signal?.removeEventListener('abort', onClientAbort);
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
}

type Outcome<T> = { ok: true; value: T } | { ok: false; why: string };

/** Runs `fn` with an abort deadline; never rejects. */
function runWithDeadline<T>(ms: number, ctl: AbortController, fn: (s: AbortSignal) => Promise<T>): Promise<Outcome<T>> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort(DEADLINE);
  }, ms);
  let p: Promise<T>;
  try {
    p = fn(ctl.signal);
  } catch (e) {
    p = Promise.reject(e);
  }
  return p.then(
    (value): Outcome<T> => {
      clearTimeout(timer);
      return { ok: true, value };
    },
    (e: unknown): Outcome<T> => {
      clearTimeout(timer);
      if (timedOut) return { ok: false, why: 'timeout' };
      if (ctl.signal.aborted) return { ok: false, why: 'aborted' };
      return { ok: false, why: e instanceof ScoringError ? e.why : 'error' };
    },
  );
}
