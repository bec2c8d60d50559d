import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ConfigError,
  effectiveNamespace,
  fallbackTierIndex,
  loadProxyConfigFromEnv,
  parseProxyConfig,
  proxyConfigSchema,
  tierBoundaries,
} from '../../proxy/src/config';
import { minimalConfig } from './helpers';

function issuesOf(input: unknown): string[] {
  try {
    parseProxyConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).issues];
  }
  throw new Error('expected the config to be rejected');
}

describe('proxy config', () => {
  test('the minimal document is valid and gets the documented defaults', () => {
    const c = parseProxyConfig(minimalConfig());
    expect(c.port).toBe(8080);
    expect(c.host).toBe('0.0.0.0');
    expect(c.router.embeddingWeight).toBe(0.6);
    expect(c.router.ratingWeight).toBe(0.4);
    expect(c.router.truncateChars).toBe(2048);
    expect(c.router.keywordPolicy).toBe('force');
    expect(c.router.fastPathMargin).toBe(0.2);
    expect(c.logPrompts).toBe(false);
    expect(c.allowTierOverride).toBe(false);
    expect(c.metrics.flushIntervalMs).toBe(10000);
    expect(c.logBufferBytes).toBe(16384);
    expect(c.dispatch.upstreamKeepAliveMs).toBe(4000);
    expect(c.logFlushIntervalMs).toBe(1000);
    expect(c.server.keepAliveTimeoutMs).toBeGreaterThan(60000);
    expect(c.server.headersTimeoutMs).toBeLessThanOrEqual(10000);
    expect(c.dispatch.breaker).toEqual({ failures: 5, windowMs: 30000, cooldownMs: 15000 });
    expect(c.tiers[0].pricePer1kOutputTokensUsd).toBe(0);
    expect(fallbackTierIndex(c)).toBe(1);
    expect(tierBoundaries(c)).toEqual([0.65]);
    expect(effectiveNamespace(c)).toBe('LlmTierRouter/local');
    expect(Object.isFrozen(c.router)).toBe(true);
  });

  test('an out-of-range threshold is reported as path, got, expected', () => {
    const issues = issuesOf(minimalConfig({ router: { ...(minimalConfig().router as object), threshold: 1.5 } }));
    expect(issues).toEqual(['router.threshold: got 1.5, expected a number in [0, 1]']);
  });

  test('the log buffer must fit in one write', () => {
    expect(issuesOf(minimalConfig({ logBufferBytes: 40000 }))).toEqual(['logBufferBytes: got 40000, expected an integer from 0 to 32768']);
    expect(issuesOf(minimalConfig({ logBufferBytes: -1, logFlushIntervalMs: 0 }))).toEqual([
      'logBufferBytes: got -1, expected an integer from 0 to 32768',
      'logFlushIntervalMs: got 0, expected a positive integer',
    ]);
    expect(parseProxyConfig(minimalConfig({ logBufferBytes: 0 })).logBufferBytes).toBe(0);
  });

  test('every problem is reported at once', () => {
    const doc = minimalConfig({ port: 'eighty', allowUnauthenticated: 'yes' }) as any;
    doc.tiers[0].baseUrl = 'not a url';
    doc.router.embeddingWeight = 0.7;
    doc.router.keywordPolicy = 'always';
    const issues = issuesOf(doc);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^port: got "eighty", expected a port number$/),
        expect.stringMatching(/^allowUnauthenticated: got "yes", expected true or false$/),
        expect.stringMatching(/^tiers\[0\]\.baseUrl: got "not a url", expected an http\(s\) URL/),
        expect.stringMatching(/^router\.keywordPolicy: got "always", expected "force", "bias" or "off"$/),
      ]),
    );
    expect(issues.length).toBeGreaterThanOrEqual(4);
  });

  test('unknown keys are rejected with a did-you-mean hint', () => {
    const doc = minimalConfig() as any;
    doc.router.treshold = 0.5;
    doc.sesions = {};
    const issues = issuesOf(doc);
    expect(issues).toEqual(expect.arrayContaining([
      expect.stringMatching(/^router\.treshold: got an unknown key, expected one of .*threshold.* \(did you mean "threshold"\?\)$/),
      expect.stringMatching(/^sesions: got an unknown key, expected one of .*sessions.* \(did you mean "sessions"\?\)$/),
    ]));
  });

  test('weights must sum to 1', () => {
    const doc = minimalConfig() as any;
    doc.router.embeddingWeight = 0.5;
    expect(issuesOf(doc)).toEqual([expect.stringMatching(/^router\.ratingWeight: got 0\.4 .* expected embeddingWeight \+ ratingWeight = 1$/)]);
  });

  test('refuses to start without API keys unless allowUnauthenticated', () => {
    expect(issuesOf(minimalConfig({ apiKeys: [] }))).toEqual([expect.stringMatching(/^apiKeys: got none, expected at least one key/)]);
    expect(parseProxyConfig(minimalConfig({ apiKeys: [], allowUnauthenticated: true })).apiKeys).toEqual([]);
  });

  test('tier names and models must be unique, "router" and "auto" are reserved', () => {
    const doc = minimalConfig() as any;
    doc.tiers = [
      { name: 'small', baseUrl: 'http://a:1', model: 'm' },
      { name: 'small', baseUrl: 'http://b:1', model: 'm' },
      { name: 'router', baseUrl: 'http://c:1', model: 'auto' },
    ];
    const issues = issuesOf(doc);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^tiers\[1\]\.name: got "small", expected a name no other tier uses/),
        expect.stringMatching(/^tiers\[1\]\.model: got "m", expected a model no other tier serves/),
        expect.stringMatching(/^tiers\[2\]\.name: got "router"/),
        expect.stringMatching(/^tiers\[2\]\.model: got "auto"/),
      ]),
    );
  });

  test('fallbackTier must name a tier; thresholds must fit the tiers', () => {
    const doc = minimalConfig() as any;
    doc.router.fallbackTier = 'huge';
    doc.router.thresholds = [0.3, 0.6];
    const issues = issuesOf(doc);
    expect(issues).toContain('router.fallbackTier: got "huge", expected one of "small", "large"');
    expect(issues).toContain('router.thresholds: got 2 values, expected 1 (one per tier after the first)');
  });

  test('three tiers spread the threshold evenly unless thresholds are given', () => {
    const doc = minimalConfig() as any;
    doc.tiers.splice(1, 0, { name: 'medium', baseUrl: 'http://127.0.0.1:9105', model: 'mid' });
    expect(tierBoundaries(parseProxyConfig(doc))).toEqual([0.325, 0.65]);
    doc.router.thresholds = [0.4, 0.8];
    expect(tierBoundaries(parseProxyConfig(doc))).toEqual([0.4, 0.8]);
    doc.router.fallbackTier = 'medium';
    expect(fallbackTierIndex(parseProxyConfig(doc))).toBe(1);
  });

  test('a missing required section says what is expected', () => {
    const doc = minimalConfig() as any;
    delete doc.router.scorer;
    delete doc.tiers;
    const issues = issuesOf(doc);
    expect(issues).toEqual(
      expect.arrayContaining([expect.stringMatching(/^tiers: got nothing, expected a list of tiers$/), expect.stringMatching(/^router\.scorer: got nothing, expected/)]),
    );
  });

  test('the schema is exported for the stack that renders the document', () => {
    expect(proxyConfigSchema.safeParse(minimalConfig()).success).toBe(true);
  });
});

describe('loadProxyConfigFromEnv', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'proxy-config-'));

  test('reads the file named by LLM_ROUTER_CONFIG_FILE and applies PORT', () => {
    const file = path.join(dir, 'c.json');
    writeFileSync(file, JSON.stringify(minimalConfig()));
    const c = loadProxyConfigFromEnv({ LLM_ROUTER_CONFIG_FILE: file, PORT: '9999' });
    expect(c.port).toBe(9999);
  });

  test('reads inline JSON from LLM_ROUTER_CONFIG', () => {
    const c = loadProxyConfigFromEnv({ LLM_ROUTER_CONFIG: JSON.stringify(minimalConfig()) });
    expect(c.tiers.map((t) => t.name)).toEqual(['small', 'large']);
  });

  test('merges LLM_ROUTER_API_KEYS given as a JSON array or comma-separated', () => {
    const inline = JSON.stringify(minimalConfig({ apiKeys: [] }));
    expect(loadProxyConfigFromEnv({ LLM_ROUTER_CONFIG: inline, LLM_ROUTER_API_KEYS: '["sk-a","sk-b"]' }).apiKeys).toEqual(['sk-a', 'sk-b']);
    expect(loadProxyConfigFromEnv({ LLM_ROUTER_CONFIG: JSON.stringify(minimalConfig()), LLM_ROUTER_API_KEYS: 'sk-a, sk-local-1' }).apiKeys).toEqual([
      'sk-local-1',
      'sk-a',
    ]);
  });

  test('reports a missing file, bad JSON, a bad PORT and a missing variable as issues', () => {
    expect(() => loadProxyConfigFromEnv({ LLM_ROUTER_CONFIG_FILE: path.join(dir, 'nope.json') })).toThrow(/LLM_ROUTER_CONFIG_FILE: got ".*nope.json", expected a readable file \(ENOENT\)/);
    expect(() => loadProxyConfigFromEnv({ LLM_ROUTER_CONFIG: '{nope' })).toThrow(/LLM_ROUTER_CONFIG: got text that is not JSON/);
    expect(() => loadProxyConfigFromEnv({ LLM_ROUTER_CONFIG: JSON.stringify(minimalConfig()), PORT: 'http' })).toThrow(/PORT: got "http", expected a port in \[0, 65535\]/);
    expect(() => loadProxyConfigFromEnv({})).toThrow(/LLM_ROUTER_CONFIG_FILE: got nothing/);
  });
});
