/**
 * The `session` and `score` rules of the route precedence: the prompt's text is scored by the
 * router fleet (unless a session is pinned to the largest tier), scoring fallbacks and latency are
 * counted, and a session's pin may lift the scored tier.
 */
import type { Logger } from 'pino';
import { fallbackTierIndex, tierBoundaries, type ProxyConfig } from './config';
import { fallbackDimension, type ProxyMetrics } from './metrics/registry';
import { fallbackReason, type DecisionPolicy, type RouteDecision } from './routing/decide';
import { buildHeuristic, type Heuristic } from './routing/heuristics';
import { sessionAfterScoring, sessionBeforeScoring } from './routing/precedence';
import { scoreText, type ScoringBackends, type ScoringOptions } from './routing/router';
import { chatTextToScore, completionTextToScore } from './routing/text';
import type { SessionStore } from './sessions';
import type { Endpoint } from './validate';

/** A request being routed: the client may leave while it is scored. */
export interface ScoringSlot {
  /** Aborts the scoring calls when the client leaves. */
  scoring?: AbortController;
  /** The client left. */
  gone: boolean;
}

/** Decides the tier of requests the client left to the proxy. */
export class PromptRouter {
  private readonly heuristic: Heuristic;
  private readonly policy: DecisionPolicy;
  private readonly opts: ScoringOptions;

  constructor(
    private readonly config: ProxyConfig,
    private readonly backends: ScoringBackends,
    private readonly sessions: SessionStore,
    private readonly metrics: ProxyMetrics,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    const r = config.router;
    this.heuristic = buildHeuristic(r.keywords);
    this.policy = {
      boundaries: tierBoundaries(config),
      embeddingWeight: r.embeddingWeight,
      ratingWeight: r.ratingWeight,
      fastPathMargin: r.fastPathMargin,
      keywordPolicy: r.keywordPolicy,
      keywordBias: r.keywordBias,
      fallbackTier: fallbackTierIndex(config),
    };
    this.opts = { embeddingTimeoutMs: r.embedding.timeoutMs, scorerTimeoutMs: r.scorer.timeoutMs, embeddingScale: r.embeddingScale };
  }

  /** Scores the prompt and applies session stickiness; undefined when the client left meanwhile, rejects on an error inside the proxy. */
  async decide(endpoint: Endpoint, body: Record<string, unknown>, sessionId: string | undefined, slot: ScoringSlot, rid: string): Promise<RouteDecision | undefined> {
    const pinned = sessionId !== undefined ? this.sessions.get(sessionId, this.now()) : undefined;
    const early = sessionBeforeScoring(pinned, this.config.tiers.length);
    if (early) return early;
    const max = this.config.router.truncateChars;
    const text = endpoint === 'chat' ? chatTextToScore(body.messages as unknown[], max) : completionTextToScore(body.prompt, max);
    let d: RouteDecision;
    if (text.trim() === '') {
      d = { tier: 0, score: 0, reason: 'score' };
    } else {
      const hit = this.config.router.keywordPolicy !== 'off' && this.heuristic.detect(text) !== undefined;
      const t0 = this.now();
      const ctl = new AbortController();
      slot.scoring = ctl;
      let scored;
      try {
        scored = await scoreText(text, hit, this.policy, this.backends, this.opts, ctl.signal, rid);
      } catch (err) {
        // Scoring rejects when the client left; anything else is a failure of this request.
        if (slot.gone) return undefined;
        throw err;
      } finally {
        slot.scoring = undefined;
      }
      if (slot.gone) return undefined;
      if (scored.scored) this.metrics.routerLatency.record(this.now() - t0);
      if (scored.score !== undefined && scored.scored) this.metrics.routeScore.record(scored.score);
      const why = fallbackReason(scored.reason);
      if (why) {
        const dim = fallbackDimension(why);
        if (dim) this.metrics.fallbacks[dim].inc();
      }
      d = { tier: scored.tier, score: scored.score, reason: scored.reason };
      if (this.config.logPrompts) this.log.debug({ requestId: rid, prompt: text, tier: d.tier, score: d.score, reason: d.reason }, 'scored prompt');
    }
    return sessionAfterScoring(pinned, d);
  }
}
