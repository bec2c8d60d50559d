/** `/readyz`: every tier and scoring server probed on `/health`, results cached briefly. */
import type { ServerResponse } from 'node:http';
import type { ProxyConfig } from './config';
import type { HoldQueue } from './dispatch/hold';
import type { TierRuntime } from './dispatch/types';
import type { HealthResult, Upstream } from './upstream';

/** Readiness of one proxy. */
export interface ReadinessSources {
  readonly tiers: readonly TierRuntime[];
  /** Per tier: requests held for its capacity. */
  readonly holds: readonly HoldQueue[];
  readonly embedding: Upstream;
  readonly scorer: Upstream;
  /** State of the exemplar centroids (`ready` once embedded). */
  centroids(): Record<string, unknown>;
  /** Monotonic clock, ms (breaker state). */
  now(): number;
}

type Result = { body: Record<string, unknown>; ok: boolean };

/** Answers `/readyz`: 200 while any tier can take a request, else 503, with per-server details. */
export class Readiness {
  private cache: (Result & { at: number }) | undefined;
  private inFlight: Promise<Result> | undefined;

  constructor(private readonly cfg: ProxyConfig['readiness'], private readonly src: ReadinessSources) {}

  /** Writes the readiness answer to `res`. */
  async answer(res: ServerResponse): Promise<void> {
    const now = Date.now();
    let result: Result;
    if (this.cache && now - this.cache.at < this.cfg.cacheMs) {
      result = this.cache;
    } else {
      this.inFlight ??= this.probe().finally(() => {
        this.inFlight = undefined;
      });
      result = await this.inFlight;
      this.cache = { at: Date.now(), ...result };
    }
    const body = JSON.stringify(result.body);
    res.writeHead(result.ok ? 200 : 503, ['content-type', 'application/json', 'cache-control', 'no-store']);
    res.end(body);
  }

  private async probe(): Promise<Result> {
    const timeout = this.cfg.probeTimeoutMs;
    const src = this.src;
    const now = src.now();
    const [tierResults, emb, scorer] = await Promise.all([
      Promise.all(src.tiers.map((t) => t.upstream.health(timeout))),
      src.embedding.health(timeout),
      src.scorer.health(timeout),
    ]);
    const tiers: Record<string, unknown> = {};
    let anyTier = false;
    src.tiers.forEach((t, i) => {
      const h = tierResults[i];
      const usable = h.reachable && t.breaker.available(now);
      anyTier ||= usable;
      tiers[t.cfg.name] = { ...healthJson(h), breaker: t.breaker.state(now), inFlight: t.metrics.pending, held: src.holds[i].length };
    });
    return {
      ok: anyTier,
      body: { ready: anyTier, tiers, router: { embedding: { ...healthJson(emb), centroids: src.centroids() }, scorer: healthJson(scorer) } },
    };
  }
}

function healthJson(h: HealthResult): Record<string, unknown> {
  return { reachable: h.reachable, ...(h.status !== undefined ? { status: h.status } : {}), ...(h.error ? { error: h.error } : {}) };
}
