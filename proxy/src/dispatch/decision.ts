/**
 * One request's routing decision and what became of it: the tier the route decided, with its score
 * and reason, the tier that served, and every hop in between (failover, spill, hold). The route
 * headers and the request's log line are both renderings of this one record, so they cannot
 * disagree.
 */
import { routeConfidence, type RouteDecision } from '../routing/decide';

/** Why a request left a tier for another one. */
export type HopCause = 'failover' | 'spill';

/** One route header: its name and its value for a record (undefined: the header is left out). */
export type RouteHeader = readonly [name: string, value: (d: DecisionRecord) => string | undefined];

/**
 * The route headers every answer carries, in order. A new header is one more entry here (for
 * example a confidence read from `d.decision`).
 */
export const ROUTE_HEADERS: readonly RouteHeader[] = [
  ['x-route-tier', (d) => d.tierName(d.tier)],
  ['x-route-score', (d) => (d.decision.score === undefined ? 'n/a' : d.decision.score.toFixed(3))],
  ['x-route-reason', (d) => d.reason],
  ['x-route-confidence', (d) => routeConfidence(d.boundaries, d.decision.score)?.toFixed(3) ?? 'n/a'],
  ['x-request-id', (d) => d.requestId],
];

/** The decision record of one request. */
export class DecisionRecord {
  /** Tier being tried, then the tier that served; the decided tier until an attempt moves it. */
  tier: number;
  /** Why the request first left the decided tier, once it did. */
  private leftBy: HopCause | undefined;
  /** Hops and holds, in order (`failover:small>large`, `spill:small>large`, `hold:large:1200ms`). */
  private history: string[] | undefined;

  constructor(
    /** What the route decided. */
    readonly decision: RouteDecision,
    readonly requestId: string,
    private readonly names: readonly string[],
    /** Score boundaries between the tiers (the confidence is the score's distance to the nearest). */
    readonly boundaries: readonly number[] = [],
  ) {
    this.tier = decision.tier;
  }

  /** Name of tier `i`. */
  tierName(i: number): string {
    return this.names[i];
  }

  /** The reason in effect: the decided one, or why the request left the decided tier. */
  get reason(): string {
    if (this.tier === this.decision.tier || this.leftBy === undefined) return this.decision.reason;
    return `fallback:${this.leftBy}-from-${this.names[this.decision.tier]}`;
  }

  /** The request moves on to tier `to` (`cause`: why it left the tier it was on). */
  moveTo(to: number, cause: HopCause): void {
    if (to === this.tier) return;
    (this.history ??= []).push(`${cause}:${this.names[this.tier]}>${this.names[to]}`);
    if (this.leftBy === undefined && this.tier === this.decision.tier) this.leftBy = cause;
    this.tier = to;
  }

  /** The request waited `ms` for tier `tier` to have capacity. */
  held(tier: number, ms: number): void {
    (this.history ??= []).push(`hold:${this.names[tier]}:${Math.round(ms)}ms`);
  }

  /** Appends the route headers (name, value pairs) to `out`. */
  headers(out: string[] = []): string[] {
    for (let i = 0; i < ROUTE_HEADERS.length; i++) {
      const h = ROUTE_HEADERS[i];
      const v = h[1](this);
      if (v !== undefined) out.push(h[0], v);
    }
    return out;
  }

  /** The decided tier's name where another tier served (or was last tried), else undefined. */
  get decidedTier(): string | undefined {
    return this.tier === this.decision.tier ? undefined : this.names[this.decision.tier];
  }

  /** The decided reason where the reason in effect differs, else undefined. */
  get decidedReason(): string | undefined {
    return this.tier === this.decision.tier || this.leftBy === undefined ? undefined : this.decision.reason;
  }

  /** Hops and holds, in order, or undefined when the request stayed on its tier without waiting. */
  get route(): readonly string[] | undefined {
    return this.history;
  }
}
