import { fleetSpecs } from '../../lib/config/fleets';
import { metricsNamespace, Ports } from '../../contracts/metrics';
import { renderProxyConfig, UpstreamEndpoint } from '../../lib/proxy-config/render';
import { firstTokenSeconds, proxyTimings } from '../../lib/proxy-config/timings';
import { loadBalancerIdleTimeout } from '../../lib/constructs/internal-lb';
import { checkProxyConfig } from '../../lib/proxy-config/validate';
import { configFor } from './fixture';

const endpointsOf = (cfg: ReturnType<typeof configFor>): UpstreamEndpoint[] => {
  let port = 9000;
  return fleetSpecs(cfg).flatMap((f) => f.servers.map((s) => {
    const p = port++;
    return { fleet: f.name, role: s.role, servedModelName: s.servedModelName, port: p, url: `http://internal.example:${p}` };
  }));
};

describe('renderProxyConfig', () => {
  const cfg = configFor('prod');
  const doc = renderProxyConfig(cfg, endpointsOf(cfg));

  it('passes the proxy\'s own loader, with keys only from the secret\'s environment variable', () => {
    const loaded = checkProxyConfig(doc);
    expect(loaded.apiKeys).toEqual(['synth-check-key']);
    expect(doc).not.toHaveProperty('apiKeys');
    expect(loaded.port).toBe(Ports.proxy);
  });

  it('the default environment renders the first-token deadline from its tiers and scaling', () => {
    const slowest = Math.max(...cfg.tiers.map((t) => t.healthCheckGraceSeconds));
    expect(doc.dispatch?.firstTokenTimeoutMs).toBe(firstTokenSeconds(cfg) * 1000);
    expect(doc.dispatch?.firstTokenTimeoutMs).toBeGreaterThan((slowest + cfg.scaling.scaleOutEvaluationSeconds) * 1000);
  });

  it('points every tier and both scoring servers at their internal load balancer endpoint', () => {
    const empty = (i: number) => ({ whenEmpty: cfg.tiers[i].whenEmpty, maxHoldMs: cfg.tiers[i].maxHoldSeconds * 1000, holdQueueSize: cfg.tiers[i].holdQueueSize });
    expect(doc.tiers).toEqual([
      { name: 'small', baseUrl: 'http://internal.example:9002', model: 'llama-3.1-8b-instruct', pricePer1kOutputTokensUsd: cfg.tiers[0].pricePer1kOutputTokensUsd, ...empty(0) },
      { name: 'large', baseUrl: 'http://internal.example:9003', model: 'llama-3.1-70b-instruct', pricePer1kOutputTokensUsd: cfg.tiers[1].pricePer1kOutputTokensUsd, ...empty(1) },
    ]);
    expect(doc.router.scorer).toMatchObject({ baseUrl: 'http://internal.example:9000', model: 'qwen2.5-1.5b-instruct', timeoutMs: cfg.routing.scorerTimeoutMs });
    expect(doc.router.embedding).toMatchObject({
      baseUrl: 'http://internal.example:9001',
      model: 'nomic-embed-text-v1.5',
      timeoutMs: cfg.routing.embeddingTimeoutMs,
      queryPrefix: 'search_query: ',
    });
  });

  it('carries the routing settings, the environment\'s namespace and region', () => {
    const r = cfg.routing;
    expect(doc.router).toMatchObject({
      threshold: r.threshold,
      embeddingWeight: r.embeddingWeight,
      ratingWeight: r.ratingWeight,
      truncateChars: r.truncateChars,
      fastPathMargin: r.fastPathMargin,
      keywordPolicy: r.keywordPolicy,
      keywordBias: r.keywordBias,
      keywords: r.keywords,
      fallbackTier: r.fallbackTier,
    });
    expect(doc.allowTierOverride).toBe(r.allowTierOverride);
    expect(doc.sessions).toEqual({ ttlSeconds: r.sessionTtlSeconds });
    expect(doc.metrics).toEqual({ enabled: true, environment: 'prod', namespace: metricsNamespace('prod'), region: cfg.region });
  });

  it('renders what each tier does without capacity, as the proxy reads it: small spills, large holds, waits in ms', () => {
    const loaded = checkProxyConfig(doc);
    expect(loaded.tiers.map((t) => [t.name, t.whenEmpty, t.maxHoldMs, t.holdQueueSize])).toEqual([
      ['small', 'spill', 300_000, 256],
      ['large', 'hold', 300_000, 64],
    ]);
  });

  it('is pure: the same inputs give the same document', () => {
    expect(renderProxyConfig(cfg, endpointsOf(cfg))).toEqual(doc);
  });

  it('names every missing upstream at once', () => {
    const onlyRouter = endpointsOf(cfg).filter((e) => e.fleet === 'router' && e.role === 'scorer');
    expect(() => renderProxyConfig(cfg, onlyRouter)).toThrow(/got router\/scorer, expected also small\/generate, large\/generate, router\/embedding/);
  });

  it('a document the proxy refuses stops the synth with the proxy\'s message', () => {
    expect(() => checkProxyConfig({ ...doc, apiKeys: ['sk-leaked'] })).toThrow(/apiKeys: got 1 key\(s\), expected none/);
    expect(() => checkProxyConfig({ ...doc, router: { ...doc.router, fallbackTier: 'medium' } })).toThrow(/router\.fallbackTier: got "medium"/);
  });
});

describe('proxyTimings', () => {
  it.each([1, 30, 300, 900, 3600])('keeps every deadline in order for a longest generation of %i s', (longest) => {
    const t = proxyTimings(longest);
    // The proxy times out a non-streamed answer before the ALB drops the idle connection ...
    expect(t.nonStreamTimeoutMs).toBeLessThan(t.loadBalancerIdleTimeoutSeconds * 1000);
    // A stream's first-token wait sends comment lines to the client, so it is not bound by the
    // public ALB's idle timeout; its upstream leg is silent, and the internal ALB outlasts it.
    expect(t.firstTokenTimeoutMs).toBeGreaterThanOrEqual(600_000);
    expect(t.firstTokenTimeoutMs).toBeLessThan(loadBalancerIdleTimeout(longest, t.firstTokenTimeoutMs / 1000).toMilliseconds());
    expect(t.streamIdleTimeoutMs).toBeLessThan(t.loadBalancerIdleTimeoutSeconds * 1000);
    // ... Node's keep-alive outlasts the ALB's (facts.md) ...
    expect(t.keepAliveTimeoutMs).toBeGreaterThan(t.loadBalancerIdleTimeoutSeconds * 1000);
    // ... and the platform limits hold.
    expect(t.loadBalancerIdleTimeoutSeconds).toBeLessThanOrEqual(4000);
    expect(t.deregistrationDelaySeconds).toBeLessThanOrEqual(3600);
    expect(t.stopTimeoutSeconds).toBeLessThanOrEqual(120);
    expect(t.shutdownGraceMs).toBeLessThan(t.stopTimeoutSeconds * 1000);
    // Pooled connections to the internal ALB are closed by the proxy, never by the ALB.
    expect(t.upstreamKeepAliveMs).toBeLessThan(loadBalancerIdleTimeout(longest).toMilliseconds());
    expect(t.upstreamKeepAliveMs).toBeGreaterThan(4000);
  });

  it.each([30, 300, 900])('lets a draining task finish a %i s generation', (longest) => {
    const t = proxyTimings(longest);
    expect(t.nonStreamTimeoutMs).toBe(longest * 1000);
    expect(t.deregistrationDelaySeconds).toBeGreaterThanOrEqual(longest);
    expect(t.loadBalancerIdleTimeoutSeconds).toBeGreaterThan(longest);
  });

  it('a stream waits for its first token as long as new capacity takes: the slowest tier\'s boot grace plus the scale-out alarm, 600 s to 3600 s', () => {
    const wait = (graces: number[], evaluation = 30) => firstTokenSeconds({ tiers: graces.map((g) => ({ healthCheckGraceSeconds: g })), scaling: { scaleOutEvaluationSeconds: evaluation } });
    // The default tiers: 1,500 s large-tier grace + 30 s evaluation + 30 s alarm lag.
    expect(wait([840, 1500])).toBe(1560);
    expect(wait([1500, 840])).toBe(1560);
    expect(wait([1500], 120)).toBe(1680);
    // Fast boots still wait the OpenAI SDKs' 600 s; the internal ALB's limit caps the wait.
    expect(wait([120, 300])).toBe(600);
    expect(wait([3600])).toBe(3600);
    expect(proxyTimings(300, 1560).firstTokenTimeoutMs).toBe(1_560_000);
  });

  it('refuses a non-positive duration', () => {
    expect(() => proxyTimings(0)).toThrow(/longestGenerationSeconds: got 0, expected a positive whole number/);
  });
});
