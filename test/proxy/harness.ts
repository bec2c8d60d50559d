/** Starts simulated tiers and router servers plus a proxy on 127.0.0.1, for HTTP-level tests. */
import * as http from 'node:http';
import pino from 'pino';
import { parseProxyConfig, type ProxyConfig } from '../../proxy/src/config';
import { startProxy, type ProxyDeps, type ProxyHandle } from '../../proxy/src/server';
import { startVllmSimulator, type SimulatorHandle, type SimulatorOptions } from '../../tools/simulator/vllm-simulator';

/** A running test stack. */
export interface Stack {
  readonly small: SimulatorHandle;
  readonly large: SimulatorHandle;
  readonly embedding: SimulatorHandle;
  readonly scorer: SimulatorHandle;
  readonly proxy: ProxyHandle;
  readonly config: ProxyConfig;
  close(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Deep-merged into the proxy config document. */
  readonly config?: Record<string, unknown>;
  readonly deps?: ProxyDeps;
  readonly tierSim?: SimulatorOptions;
  /** Wait for the exemplar centroids before returning. @default true */
  readonly waitForCentroids?: boolean;
}

/** Test API key. */
export const KEY = 'sk-test-1';

/** A logger that writes nothing. */
export const quietLogger = pino({ level: 'silent' });

/** Deep merge of plain objects (arrays replaced). */
export function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v) ? merge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** Starts four simulators and a proxy in front of them. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const tierSim = { chunks: 5, chunkIntervalMs: 1, ...opts.tierSim };
  const [small, large, embedding, scorer] = await Promise.all([
    startVllmSimulator({ model: 'llama-3.1-8b', role: 'generate', ...tierSim }),
    startVllmSimulator({ model: 'llama-3.1-70b', role: 'generate', ...tierSim }),
    startVllmSimulator({ model: 'nomic-embed-text-v1.5', role: 'embedding', embeddingDims: 256 }),
    startVllmSimulator({ model: 'qwen2.5-1.5b-instruct', role: 'scorer' }),
  ]);
  const doc = merge(baseDoc(small.url, large.url, embedding.url, scorer.url), opts.config ?? {});
  const config = parseProxyConfig(doc);
  const proxy = await startProxy(config, { logger: quietLogger, ...opts.deps });
  if (opts.waitForCentroids !== false) await waitFor(async () => (await readyz(proxy.url)).body.router.embedding.centroids.ready === true, 5000);
  small.resetStats();
  large.resetStats();
  embedding.resetStats();
  scorer.resetStats();
  return {
    small,
    large,
    embedding,
    scorer,
    proxy,
    config,
    async close() {
      await proxy.close();
      await Promise.all([small.close(), large.close(), embedding.close(), scorer.close()]);
    },
  };
}

/** Starts one more proxy in front of a stack's simulators (closed by the caller). */
export async function startProxyOn(stack: Stack, config: Record<string, unknown>, deps: ProxyDeps = {}): Promise<{ proxy: ProxyHandle; config: ProxyConfig }> {
  const cfg = parseProxyConfig(merge(baseDoc(stack.small.url, stack.large.url, stack.embedding.url, stack.scorer.url), config));
  const proxy = await startProxy(cfg, { logger: quietLogger, ...deps });
  await waitFor(async () => (await readyz(proxy.url)).body.router.embedding.centroids.ready === true, 5000);
  return { proxy, config: cfg };
}

/** The proxy config document of a test stack. */
export function baseDoc(small: string, large: string, embedding: string, scorer: string): Record<string, unknown> {
  return {
    port: 0,
      host: '127.0.0.1',
      apiKeys: [KEY],
      tiers: [
        { name: 'small', baseUrl: small, model: 'llama-3.1-8b', pricePer1kOutputTokensUsd: 0.0002 },
        { name: 'large', baseUrl: large, model: 'llama-3.1-70b', pricePer1kOutputTokensUsd: 0.002 },
      ],
      router: {
        embedding: { baseUrl: embedding, model: 'nomic-embed-text-v1.5', queryPrefix: 'search_query: ', timeoutMs: 500 },
        scorer: { baseUrl: scorer, model: 'qwen2.5-1.5b-instruct', timeoutMs: 500 },
        threshold: 0.65,
        centroidRetryMaxMs: 200,
      },
      dispatch: { backoffMs: 10, maxBackoffMs: 50, firstTokenTimeoutMs: 2000, idleTimeoutMs: 1000, breaker: { failures: 5, windowMs: 10000, cooldownMs: 500 } },
      server: { shutdownGraceMs: 2000 },
      metrics: { enabled: false },
      readiness: { probeTimeoutMs: 300, cacheMs: 0 },
  };
}

/** Clears queued faults and request counters on every simulator of the stack (between tests). */
export function resetSimulators(stack: Stack): void {
  for (const s of [stack.small, stack.large, stack.embedding, stack.scorer]) {
    s.clearFaults();
    s.resetStats();
  }
}

/** Polls `fn` until true or the time is up. */
export async function waitFor(fn: () => boolean | Promise<boolean>, ms: number, every = 20): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** A raw HTTP answer. */
export interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends one request with node:http and collects the answer. */
export function send(url: string, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent }): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request(
      { hostname: u.hostname, port: u.port, method: opts.method ?? 'POST', path: opts.path, headers: opts.headers, agent: opts.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** POSTs a JSON body to the proxy with the test key. */
export function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Raw> {
  return send(url, { path, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** GET /readyz, parsed. */
export async function readyz(url: string): Promise<{ status: number; body: any }> {
  const r = await send(url, { method: 'GET', path: '/readyz' });
  return { status: r.status, body: JSON.parse(r.body) };
}

/** Parses SSE text into its data payloads. */
export function sseData(text: string): string[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((f) => f.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n'))
    .filter((d) => d !== '');
}

/** A chat body. */
export function chat(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'auto', messages: [{ role: 'user', content }], max_tokens: 16, ...extra };
}
