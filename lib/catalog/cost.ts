/** Fleet cost and workload cost math used by the planner and the cost alarms. */
import { HOURS_PER_MONTH, instanceSpec } from './instances';

/** Capacity and price inputs of one fleet. */
export interface FleetCostInput {
  readonly instanceType: string;
  readonly minCapacity: number;
  readonly maxCapacity: number;
}

/** Hourly and monthly cost of a fleet at its min and max capacity. */
export interface FleetCost {
  readonly usdPerHourEach: number;
  readonly usdPerHourMin: number;
  readonly usdPerHourMax: number;
  readonly usdPerMonthMin: number;
  readonly usdPerMonthMax: number;
}

/** Costs a fleet at its capacity bounds. */
export function fleetCost(input: FleetCostInput): FleetCost {
  const each = instanceSpec(input.instanceType).usdPerHour;
  return {
    usdPerHourEach: each,
    usdPerHourMin: each * input.minCapacity,
    usdPerHourMax: each * input.maxCapacity,
    usdPerMonthMin: each * input.minCapacity * HOURS_PER_MONTH,
    usdPerMonthMax: each * input.maxCapacity * HOURS_PER_MONTH,
  };
}

/**
 * Sustained output tokens per second one instance must produce for its hourly price to equal the
 * configured price per 1k output tokens: a sanity check on that price.
 */
export function impliedTokensPerSecond(usdPerHour: number, pricePer1kOutputTokensUsd: number): number {
  return (usdPerHour / pricePer1kOutputTokensUsd) * 1000 / 3600;
}

/** A monthly workload. */
export interface Workload {
  readonly requestsPerMonth: number;
  readonly outputTokensPerRequest: number;
  /** Share of requests the router sends to the large (last) tier. */
  readonly largeShare: number;
}

/** One tier as the workload comparison sees it. */
export interface TierCostInput extends FleetCostInput {
  readonly name: string;
  readonly pricePer1kOutputTokensUsd: number;
}

/** Cost of one tier's share of the workload. */
export interface TierWorkloadCost {
  readonly name: string;
  readonly requests: number;
  readonly outputTokens: number;
  /** Output tokens x price per 1k. */
  readonly tokenUsd: number;
  /** The tier's min capacity running all month: paid whatever the traffic. */
  readonly floorUsd: number;
  /** max(tokenUsd, floorUsd). */
  readonly usd: number;
}

/** A scenario's monthly cost. */
export interface ScenarioCost {
  readonly tiers: readonly TierWorkloadCost[];
  /** Router fleet at min capacity all month (0 when nothing is routed). */
  readonly routerUsd: number;
  readonly totalUsd: number;
}

/** The two scenarios the planner compares. */
export interface WorkloadComparison {
  readonly allLarge: ScenarioCost;
  readonly routed: ScenarioCost;
  /** 1 - routed / allLarge. */
  readonly savingsFraction: number;
}

function tierCost(tier: TierCostInput, requests: number, outputTokensPerRequest: number): TierWorkloadCost {
  const outputTokens = requests * outputTokensPerRequest;
  const tokenUsd = (outputTokens / 1000) * tier.pricePer1kOutputTokensUsd;
  const floorUsd = fleetCost(tier).usdPerMonthMin;
  return { name: tier.name, requests, outputTokens, tokenUsd, floorUsd, usd: Math.max(tokenUsd, floorUsd) };
}

/**
 * Compares "every request on the large tier" with "routed at the configured large-tier share".
 * The routed case sends the large share to the last tier and the rest to the first (cheapest) tier,
 * and pays for the router fleet at its min capacity. Each tier costs its tokens at its price per 1k
 * output tokens, but never less than its min capacity running all month.
 */
export function compareWorkload(
  tiers: readonly TierCostInput[],
  router: FleetCostInput,
  workload: Workload,
): WorkloadComparison {
  const large = tiers[tiers.length - 1];
  const small = tiers[0];
  const allLargeTier = tierCost(large, workload.requestsPerMonth, workload.outputTokensPerRequest);
  const allLarge: ScenarioCost = { tiers: [allLargeTier], routerUsd: 0, totalUsd: allLargeTier.usd };
  const largeRequests = workload.requestsPerMonth * workload.largeShare;
  const routedTiers = tiers.map((tier) => {
    let requests = 0;
    if (tier === large) {
      requests = largeRequests;
    } else if (tier === small) {
      requests = workload.requestsPerMonth - largeRequests;
    }
    return tierCost(tier, requests, workload.outputTokensPerRequest);
  });
  const routerUsd = fleetCost(router).usdPerMonthMin;
  const routedTotal = routedTiers.reduce((sum, t) => sum + t.usd, 0) + routerUsd;
  return {
    allLarge,
    routed: { tiers: routedTiers, routerUsd, totalUsd: routedTotal },
    savingsFraction: allLarge.totalUsd > 0 ? 1 - routedTotal / allLarge.totalUsd : 0,
  };
}

/**
 * The monthly request volume from which on routing costs no more than sending every request to the
 * large tier (same tokens per request and large share), or undefined when it never does (the small
 * tier's tokens are not cheaper than the large tier's). Below it the router fleet and the tiers'
 * min-capacity floors, paid whatever the traffic, outweigh the tokens routing saves.
 *
 * Both scenario costs are piecewise linear in the volume (a tier costs max(tokens, floor)), so the
 * difference is solved exactly segment by segment, from the largest volumes down.
 */
export function breakEvenRequestsPerMonth(
  tiers: readonly TierCostInput[],
  router: FleetCostInput,
  workload: Pick<Workload, 'outputTokensPerRequest' | 'largeShare'>,
): number | undefined {
  const saving = (requests: number) => {
    const c = compareWorkload(tiers, router, { ...workload, requestsPerMonth: requests });
    return c.allLarge.totalUsd - c.routed.totalUsd;
  };
  const large = tiers[tiers.length - 1];
  const small = tiers[0];
  const perRequest = (t: TierCostInput) => (workload.outputTokensPerRequest / 1000) * t.pricePer1kOutputTokensUsd;
  const smallShare = 1 - workload.largeShare;
  // Beyond every kink the saving grows by this much per request.
  const slope = smallShare * (perRequest(large) - perRequest(small));
  if (!(slope > 0)) return undefined;
  // Volumes where a tier's token cost reaches its floor: the kinks of the two cost curves.
  const kinks = [
    [large, 1],
    [small, smallShare],
    [large, workload.largeShare],
  ]
    .map(([t, share]) => fleetCost(t as TierCostInput).usdPerMonthMin / (perRequest(t as TierCostInput) * (share as number)))
    .filter((v) => Number.isFinite(v) && v > 0);
  const points = [0, ...new Set(kinks)].sort((a, b) => a - b);
  const last = points[points.length - 1];
  const atLast = saving(last);
  if (atLast < 0) return Math.ceil(last - atLast / slope);
  for (let i = points.length - 1; i > 0; i--) {
    const lo = points[i - 1];
    const hi = points[i];
    const sLo = saving(lo);
    if (sLo < 0) return Math.ceil(lo + (-sLo * (hi - lo)) / (saving(hi) - sLo));
  }
  return 0;
}
