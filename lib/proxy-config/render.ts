/**
 * Renders the routing proxy's runtime config document from the validated CDK config and the
 * internal load balancer's endpoints. Pure: the same inputs give the same document, with no
 * constructs involved. API keys are never part of it: the task receives them from Secrets Manager.
 */
import type { ProxyConfigInput } from '../../contracts/proxy-config';
import { readRoutingDataFile } from '../../contracts/routing-data';
import { MODEL_CATALOG } from '../catalog/models';
import { metricsNamespace, Ports, ROUTER_FLEET_NAME } from '../../contracts/metrics';
import type { EnvConfig } from '../config/schema';
import { firstTokenSeconds, proxyTimings } from './timings';

/** The proxy config document as the stack writes it (optional fields may be left out). */
export type ProxyConfigDocument = ProxyConfigInput;

/** One upstream the proxy calls, as the internal load balancer publishes it. */
export interface UpstreamEndpoint {
  /** `router` or a tier name. */
  readonly fleet: string;
  /** What the server behind this endpoint does. */
  readonly role: 'generate' | 'scorer' | 'embedding';
  /** `--served-model-name` of the server: the model name the proxy sends. */
  readonly servedModelName: string;
  /** Listener port of the internal load balancer. */
  readonly port: number;
  /** `http://<internal ALB DNS>:<port>` (may hold tokens). */
  readonly url: string;
}

/** The config slices the document is rendered from. */
export type ProxyConfigSource = Pick<EnvConfig, 'envName' | 'region' | 'routing' | 'tiers' | 'router' | 'longestGenerationSeconds' | 'scaling'> & {
  readonly proxy: Pick<EnvConfig['proxy'], 'opsEndpoints'>;
};

/** Renders the proxy config document; throws listing every upstream the endpoints lack. */
export function renderProxyConfig(cfg: ProxyConfigSource, endpoints: readonly UpstreamEndpoint[]): ProxyConfigDocument {
  const missing: string[] = [];
  const find = (fleet: string, role: UpstreamEndpoint['role']): UpstreamEndpoint => {
    const found = endpoints.find((e) => e.fleet === fleet && e.role === role);
    if (!found) {
      missing.push(`${fleet}/${role}`);
      return { fleet, role, servedModelName: 'missing', port: 0, url: 'http://missing.invalid' };
    }
    return found;
  };
  const tiers = cfg.tiers.map((tier) => {
    const e = find(tier.name, 'generate');
    return {
      name: tier.name,
      baseUrl: e.url,
      model: e.servedModelName,
      pricePer1kOutputTokensUsd: tier.pricePer1kOutputTokensUsd,
      whenEmpty: tier.whenEmpty,
      maxHoldMs: tier.maxHoldSeconds * 1000,
      holdQueueSize: tier.holdQueueSize,
    };
  });
  const scorer = find(ROUTER_FLEET_NAME, 'scorer');
  const embedding = find(ROUTER_FLEET_NAME, 'embedding');
  if (missing.length > 0) {
    const given = endpoints.map((e) => `${e.fleet}/${e.role}`).join(', ') || 'none';
    throw new Error(`proxy upstream endpoints: got ${given}, expected also ${missing.join(', ')} (one per tier, plus the router's scorer and embedding)`);
  }

  const r = cfg.routing;
  const t = proxyTimings(cfg.longestGenerationSeconds, firstTokenSeconds(cfg));
  return {
    port: Ports.proxy,
    allowTierOverride: r.allowTierOverride,
    // Behind the public load balancer every caller is relayed: `private` and `apiKey` both leave
    // them to the API key (the load balancer hides the paths under `private`).
    opsAccess: cfg.proxy.opsEndpoints === 'public' ? 'public' : 'private',
    logPrompts: false,
    tiers,
    router: {
      embedding: {
        baseUrl: embedding.url,
        model: embedding.servedModelName,
        timeoutMs: r.embeddingTimeoutMs,
        queryPrefix: MODEL_CATALOG[cfg.router.embedding.model].queryPrefix ?? '',
      },
      scorer: {
        baseUrl: scorer.url,
        model: scorer.servedModelName,
        timeoutMs: r.scorerTimeoutMs,
      },
      threshold: r.threshold,
      embeddingWeight: r.embeddingWeight,
      ratingWeight: r.ratingWeight,
      truncateChars: r.truncateChars,
      fastPathMargin: r.fastPathMargin,
      keywordPolicy: r.keywordPolicy,
      keywordBias: r.keywordBias,
      keywords: [...r.keywords],
      fallbackTier: r.fallbackTier,
      // The environment's routing data travels inline: the image ships only the default file.
      ...(r.exemplarsFile ? { exemplars: readRoutingDataFile(r.exemplarsFile, 'routing.exemplarsFile') } : {}),
    },
    dispatch: {
      firstTokenTimeoutMs: t.firstTokenTimeoutMs,
      nonStreamTimeoutMs: t.nonStreamTimeoutMs,
      idleTimeoutMs: t.streamIdleTimeoutMs,
      upstreamKeepAliveMs: t.upstreamKeepAliveMs,
    },
    server: {
      keepAliveTimeoutMs: t.keepAliveTimeoutMs,
      shutdownGraceMs: t.shutdownGraceMs,
    },
    sessions: {
      ttlSeconds: r.sessionTtlSeconds,
    },
    metrics: {
      enabled: true,
      environment: cfg.envName,
      namespace: metricsNamespace(cfg.envName),
      region: cfg.region,
    },
  };
}
