/** Clients of the router fleet: the embedding server, the scorer LLM, and the exemplar centroids. */
import { endianness } from 'node:os';
import type { Logger } from 'pino';
import { exemplarsFile, type ProxyConfig } from './config';
import type { Centroids } from './routing/embedding';
import { buildCentroids } from './routing/model';
import { readRoutingDataFile, type RoutingData } from '../../contracts/routing-data';
import { readRating, type RatingResult } from './routing/rating';
import { ScoringError, type ScoringBackends } from './routing/router';
import { ABORTED, Upstream, UpstreamCallError } from './upstream';

/** Routing data: labelled exemplar prompts and, optionally, the learned model's weights. */
export type Exemplars = RoutingData;

/** Reads and checks a routing data (exemplar) file; throws a message naming the file and every problem. */
export function loadExemplars(file: string): Exemplars {
  return readRoutingDataFile(file, 'router.exemplarsFile');
}

/** The routing data in effect: inline in the config (`router.exemplars`), else the file it names, else the shipped file. */
export function routingData(config: ProxyConfig): Exemplars {
  return (config.router.exemplars as Exemplars | undefined) ?? loadExemplars(exemplarsFile(config));
}

/** Embedding server client. */
export class EmbeddingClient {
  readonly upstream: Upstream;
  /** JSON text of a one-text request around its input string. */
  private readonly oneHead: string;
  private readonly oneTail: string;
  constructor(private readonly cfg: ProxyConfig['router']['embedding'], keepAliveMs?: number) {
    this.upstream = new Upstream(cfg.baseUrl, cfg.maxSockets, keepAliveMs);
    this.oneHead = `{"model":${JSON.stringify(cfg.model)},"input":[`;
    this.oneTail = cfg.encodingFormat === 'base64' ? '],"encoding_format":"base64"}' : ']}';
  }

  /** Embeds texts in one call, in input order. */
  async embedMany(texts: readonly string[], signal?: AbortSignal, requestId?: string): Promise<Float64Array[] | Float32Array[]> {
    const json = texts.length === 1
      ? this.oneHead + JSON.stringify(this.cfg.queryPrefix + texts[0]) + this.oneTail
      : JSON.stringify({ model: this.cfg.model, input: texts.map((t) => this.cfg.queryPrefix + t), ...(this.cfg.encodingFormat === 'base64' ? { encoding_format: 'base64' } : {}) });
    const res = await call(() => this.upstream.postJsonText('/v1/embeddings', json, signal, requestId));
    const data = (res as { data?: Array<{ index?: unknown; embedding?: unknown }> } | null)?.data;
    if (!Array.isArray(data) || data.length !== texts.length) throw new ScoringError('garbage', 'embedding answer has the wrong number of vectors');
    const out = new Array<Float32Array | Float64Array>(texts.length);
    data.forEach((d, i) => {
      const idx = typeof d?.index === 'number' ? d.index : i;
      const v = decodeVector(d?.embedding);
      if (!v || idx < 0 || idx >= texts.length) throw new ScoringError('garbage', 'embedding answer is malformed');
      out[idx] = v;
    });
    return out as Float64Array[];
  }

  /** Embeds one text. */
  async embed(text: string, signal?: AbortSignal, requestId?: string): Promise<ArrayLike<number>> {
    return (await this.embedMany([text], signal, requestId))[0];
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

function decodeVector(e: unknown): Float64Array | Float32Array | undefined {
  if (Array.isArray(e)) {
    if (e.length === 0) return undefined;
    const out = new Float64Array(e.length);
    for (let i = 0; i < e.length; i++) {
      const x = e[i];
      if (typeof x !== 'number' || !Number.isFinite(x)) return undefined;
      out[i] = x;
    }
    return out;
  }
  if (typeof e === 'string') {
    const buf = Buffer.from(e, 'base64');
    if (buf.length === 0 || buf.length % 4 !== 0) return undefined;
    const out = new Float32Array(buf.length / 4);
    // Little-endian float32s, as vLLM sends them: on a little-endian host, one copy.
    if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(buf);
    else for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
    for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) return undefined;
    return out;
  }
  return undefined;
}

/** Scorer LLM client: asks for a 0-10 rating at temperature 0. */
export class ScorerClient {
  readonly upstream: Upstream;
  /** JSON text of the rating request around the user message (the system prompt is serialized once). */
  private readonly head: string;
  private readonly tail: string;
  constructor(cfg: ProxyConfig['router']['scorer'], keepAliveMs?: number) {
    this.upstream = new Upstream(cfg.baseUrl, cfg.maxSockets, keepAliveMs);
    this.head = `{"model":${JSON.stringify(cfg.model)},"messages":[{"role":"system","content":${JSON.stringify(cfg.systemPrompt)}},{"role":"user","content":`;
    this.tail = `}],"temperature":0,"max_tokens":${cfg.maxTokens},"stream":false${cfg.useLogprobs ? ',"logprobs":true,"top_logprobs":10' : ''}}`;
  }

  /** Rates one text; rejects with {@link ScoringError} (`error`, `garbage`). */
  async rate(text: string, signal?: AbortSignal, requestId?: string): Promise<RatingResult> {
    const json = this.head + JSON.stringify(text) + this.tail;
    const res = await call(() => this.upstream.postJsonText('/v1/chat/completions', json, signal, requestId));
    const r = readRating(res);
    if (!r.ok) throw new ScoringError('garbage', 'the scorer answered without a 0-10 rating');
    return r;
  }
}

/** An aborted call's error: one instance, like the abort it stands for (the fast path aborts often). */
const ABORTED_SCORING = new ScoringError(ABORTED.why, ABORTED.message);

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e === ABORTED) throw ABORTED_SCORING;
    if (e instanceof UpstreamCallError) throw new ScoringError(e.why, e.message);
    throw e;
  }
}

/**
 * Embeds the exemplar prompts at start-up and keeps retrying in the background while the embedding
 * server is down; until then `centroids()` is undefined and the scorer decides alone.
 */
export class CentroidLoader {
  private value: Centroids | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private attempts = 0;
  private lastError: string | undefined;
  private readonly ctl = new AbortController();

  constructor(
    private readonly client: EmbeddingClient,
    private readonly exemplars: Exemplars,
    private readonly batchSize: number,
    private readonly maxRetryMs: number,
    private readonly log: Logger,
  ) {}

  /** Centroids once ready. */
  centroids(): Centroids | undefined {
    return this.value;
  }

  /** Readiness details for `/readyz`. */
  status(): { ready: boolean; attempts: number; lastError?: string } {
    return { ready: this.value !== undefined, attempts: this.attempts, ...(this.lastError && !this.value ? { lastError: this.lastError } : {}) };
  }

  /** Starts loading; resolves after the first attempt (successful or not). */
  start(): Promise<void> {
    return this.attempt();
  }

  /** Stops retrying. */
  stop(): void {
    this.stopped = true;
    this.ctl.abort();
    if (this.timer) clearTimeout(this.timer);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    this.attempts++;
    try {
      const simple = await this.embedAll(this.exemplars.simple);
      const complex = await this.embedAll(this.exemplars.complex);
      if (simple[0].length !== complex[0].length) throw new Error('exemplar vectors differ in size');
      this.value = buildCentroids(simple, complex, this.exemplars.model);
      this.log.info({ simple: simple.length, complex: complex.length, dims: simple[0].length, learnedModel: this.exemplars.model !== undefined, attempts: this.attempts }, 'exemplar centroids ready');
    } catch (e) {
      if (this.stopped) return;
      this.lastError = (e as Error).message;
      const delay = Math.min(this.maxRetryMs, 500 * 2 ** Math.min(this.attempts - 1, 10));
      if (this.attempts === 1 || this.attempts % 10 === 0) {
        this.log.warn({ err: this.lastError, retryInMs: delay, attempts: this.attempts }, 'embedding server not ready; scoring uses the scorer alone until the exemplars are embedded');
      }
      this.timer = setTimeout(() => void this.attempt(), delay);
      this.timer.unref();
    }
  }

  private async embedAll(texts: readonly string[]): Promise<ArrayLike<number>[]> {
    const out: ArrayLike<number>[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      const batch = texts.slice(i, i + this.batchSize);
      out.push(...(await this.client.embedMany(batch, this.ctl.signal)));
    }
    return out;
  }
}

/** Wires the clients into the router's backend interface. */
export function scoringBackends(embedding: EmbeddingClient, scorer: ScorerClient, loader: CentroidLoader): ScoringBackends {
  return {
    embed: (text, signal, requestId) => embedding.embed(text, signal, requestId),
    rate: (text, signal, requestId) => scorer.rate(text, signal, requestId),
    centroids: () => loader.centroids(),
  };
}
