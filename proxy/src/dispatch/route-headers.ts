/** The `x-route-*` headers every answer carries: which tier, with what score, and why. */
import type { RouteDecision } from '../routing/decide';

/** Header name/value pairs of a decision for tier `tierName`, plus the request id. */
export function routeHeaders(decision: RouteDecision, tierName: string, requestId: string): string[] {
  return [
    'x-route-tier',
    tierName,
    'x-route-score',
    decision.score === undefined ? 'n/a' : decision.score.toFixed(3),
    'x-route-reason',
    decision.reason,
    'x-request-id',
    requestId,
  ];
}

/** The headers of an answer that tier `served` gave after the decided tier `from` could not serve. */
export function failoverHeaders(headers: readonly string[], served: string, from: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const k = headers[i];
    if (k === 'x-route-tier') out.push(k, served);
    else if (k === 'x-route-reason') out.push(k, `fallback:failover-from-${from}`);
    else out.push(k, headers[i + 1]);
  }
  return out;
}
