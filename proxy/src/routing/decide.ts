/** The routing decision: from scores to a tier. Pure, table-tested. */

/**
 * Why a tier was chosen, sent as `x-route-reason`:
 * - `score`: weighted embedding + rating score;
 * - `keyword`: the math/code heuristic forced the tier (or its bias moved the request up);
 * - `fast-path`: the embedding score alone was far from every boundary, the rating was not awaited;
 * - `fallback:<why>`: a scoring signal failed (`embedding-timeout`, `scorer-garbage`, ...), the other
 *   decided alone, or both failed (`scoring-unavailable`) and the fallback tier serves; also
 *   `failover-from-<tier>` when the chosen tier could not serve before the first byte and another did;
 * - `override`: the client chose the tier, by naming its model or with the `x-route-tier` header;
 * - `session`: the `x-session-id` was routed to a larger tier earlier and stays there.
 */
export type RouteReason = 'score' | 'keyword' | 'fast-path' | 'override' | 'session' | `fallback:${string}`;

/** A routing decision. */
export interface RouteDecision {
  /** Index of the tier (cheapest first). */
  readonly tier: number;
  /** The score the decision used, when one was computed. */
  readonly score: number | undefined;
  /** Why. */
  readonly reason: RouteReason;
}

/** A scoring signal in [0, 1], or why it is missing. */
export type Signal = { ok: true; value: number } | { ok: false; why: string };

/** The numbers a decision depends on. */
export interface DecisionPolicy {
  /** Ascending tier boundaries, one per tier after the first. */
  readonly boundaries: readonly number[];
  /** Weight of the embedding score. */
  readonly embeddingWeight: number;
  /** Weight of rating / 10. */
  readonly ratingWeight: number;
  /** Fast-path margin around every boundary. */
  readonly fastPathMargin: number;
  /** What the math/code heuristic does. */
  readonly keywordPolicy: 'force' | 'bias' | 'off';
  /** Score added in `bias` mode. */
  readonly keywordBias: number;
  /** Tier serving when both signals fail. */
  readonly fallbackTier: number;
}

/** Reason used when neither scoring signal is available. */
export const BOTH_FAILED = 'scoring-unavailable';

/** Tier index for a score: the number of boundaries at or below it. */
export function tierForScore(boundaries: readonly number[], score: number): number {
  let t = 0;
  for (const b of boundaries) if (score >= b) t++;
  return t;
}

const EPS = 1e-9;

/** True when the score is at least `margin` away from every boundary, on either side. */
export function isFastPath(boundaries: readonly number[], margin: number, score: number): boolean {
  for (const b of boundaries) if (score < b + margin - EPS && score > b - margin + EPS) return false;
  return true;
}

/** The decision forced by the heuristic (`force` mode), or undefined. */
export function keywordDecision(policy: DecisionPolicy, hit: boolean): RouteDecision | undefined {
  return hit && policy.keywordPolicy === 'force' ? { tier: policy.boundaries.length, score: undefined, reason: 'keyword' } : undefined;
}

/** The decision from the embedding score alone when it is far from every boundary, or undefined. */
export function fastPathDecision(policy: DecisionPolicy, embedding: number, hit: boolean): RouteDecision | undefined {
  const s = biased(policy, embedding, hit);
  if (!isFastPath(policy.boundaries, policy.fastPathMargin, s)) return undefined;
  return { tier: tierForScore(policy.boundaries, s), score: s, reason: 'fast-path' };
}

/**
 * Combines the two signals. Both present: weighted sum, reason `score`. One present: it decides alone,
 * reason `fallback:<missing>-<why>`. None: the fallback tier, reason `fallback:scoring-unavailable`.
 */
export function combine(policy: DecisionPolicy, embedding: Signal, rating: Signal, hit: boolean): RouteDecision {
  const forced = keywordDecision(policy, hit);
  if (forced) return forced;
  let raw: number;
  let reason: RouteReason;
  if (embedding.ok && rating.ok) {
    raw = policy.embeddingWeight * embedding.value + policy.ratingWeight * rating.value;
    reason = 'score';
  } else if (embedding.ok) {
    raw = embedding.value;
    reason = `fallback:scorer-${(rating as { why: string }).why}`;
  } else if (rating.ok) {
    raw = rating.value;
    reason = `fallback:embedding-${embedding.why}`;
  } else {
    return { tier: policy.fallbackTier, score: undefined, reason: `fallback:${BOTH_FAILED}` };
  }
  const s = biased(policy, raw, hit);
  const tier = tierForScore(policy.boundaries, s);
  if (s !== raw && tier !== tierForScore(policy.boundaries, raw)) reason = 'keyword';
  return { tier, score: s, reason };
}

function biased(policy: DecisionPolicy, score: number, hit: boolean): number {
  return hit && policy.keywordPolicy === 'bias' ? Math.min(1, score + policy.keywordBias) : score;
}

/** The `Reason` dimension of a fallback decision (`embedding-timeout`), or undefined. */
export function fallbackReason(reason: RouteReason): string | undefined {
  return reason.startsWith('fallback:') ? reason.slice('fallback:'.length) : undefined;
}

/**
 * How far the score is from the nearest tier boundary (`x-route-confidence`): 0 on a boundary, larger
 * is surer; undefined when no score decided (override, forced keyword, both signals failed) or
 * there is no boundary (one tier).
 */
export function routeConfidence(boundaries: readonly number[], score: number | undefined): number | undefined {
  if (score === undefined || boundaries.length === 0) return undefined;
  let best = Infinity;
  for (const b of boundaries) best = Math.min(best, Math.abs(score - b));
  return best;
}
