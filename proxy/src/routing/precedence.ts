/**
 * Which rule picks a request's tier, strongest first: the model the client named, then the
 * `x-route-tier` header (when the config honours it), then the session's pinned tier, then the
 * prompt's score. Pure, table-tested; the server performs the scoring this asks for.
 */
import { AUTO_MODEL } from '../config';
import { invalidRequest, type ApiError } from '../errors';
import type { RouteDecision } from './decide';

/** The tiers as requests name them. */
export interface TierNames {
  /** Served model names, cheapest tier first. */
  readonly models: readonly string[];
  /** Tier names, cheapest tier first. */
  readonly names: readonly string[];
}

/** What a request says about its tier. */
export interface RouteRequest {
  /** The body's `model` (already checked to be a string or absent). */
  readonly model: unknown;
  /** The `x-route-tier` header, when the config honours it. */
  readonly tierHeader: string | string[] | undefined;
  /** The `x-session-id` header. */
  readonly sessionHeader: string | string[] | undefined;
}

/** The first rule's verdict. */
export type Precedence =
  /** The request names something that does not exist. */
  | { readonly kind: 'reject'; readonly error: ApiError }
  /** The client chose the tier; `modelNamed`: by naming its model (no failover to another model). */
  | { readonly kind: 'chosen'; readonly decision: RouteDecision; readonly modelNamed: boolean }
  /** Score the prompt; `sessionId` (valid or undefined) may pin a larger tier. */
  | { readonly kind: 'score'; readonly sessionId: string | undefined };

/** Longest `x-session-id` honoured. */
const MAX_SESSION_ID = 256;

/** The rule that decides `req`'s tier, or the request's error. */
export function routePrecedence(req: RouteRequest, tiers: TierNames): Precedence {
  const model = req.model;
  if (typeof model === 'string' && model !== '' && model !== AUTO_MODEL) {
    const idx = tiers.models.indexOf(model);
    if (idx < 0) {
      return {
        kind: 'reject',
        error: { status: 404, message: `The model '${model}' does not exist. Use "auto" or one of: ${tiers.models.join(', ')}.`, type: 'invalid_request_error', param: 'model', code: 'model_not_found' },
      };
    }
    return { kind: 'chosen', decision: { tier: idx, score: undefined, reason: 'override' }, modelNamed: true };
  }
  const override = req.tierHeader;
  if (typeof override === 'string' && override !== '') {
    const idx = tiers.names.indexOf(override);
    if (idx < 0) {
      return { kind: 'reject', error: invalidRequest(`Unknown tier '${override}' in x-route-tier; tiers: ${tiers.names.join(', ')}.`, 'x-route-tier', 'unknown_tier') };
    }
    return { kind: 'chosen', decision: { tier: idx, score: undefined, reason: 'override' }, modelNamed: false };
  }
  const sid = req.sessionHeader;
  return typeof sid === 'string' && sid.length > 0 && sid.length <= MAX_SESSION_ID ? { kind: 'score', sessionId: sid } : SCORE_WITHOUT_SESSION;
}

const SCORE_WITHOUT_SESSION: Precedence = { kind: 'score', sessionId: undefined };

/**
 * A session pinned to the largest tier needs no scoring: the decision, or undefined when the prompt
 * must be scored (no pin, or a pin the score may still exceed).
 */
export function sessionBeforeScoring(pinned: number | undefined, tierCount: number): RouteDecision | undefined {
  return pinned !== undefined && pinned >= tierCount - 1 ? { tier: pinned, score: undefined, reason: 'session' } : undefined;
}

/** A scored decision under a session pin: the pinned tier when it is larger, keeping the score. */
export function sessionAfterScoring(pinned: number | undefined, scored: RouteDecision): RouteDecision {
  return pinned !== undefined && pinned > scored.tier ? { tier: pinned, score: scored.score, reason: 'session' } : scored;
}
