/**
 * A local simulator of the vLLM OpenAI-compatible server, for tests, the demo and the benchmark.
 *
 * It answers `/v1/chat/completions`, `/v1/completions` (streamed or not), `/v1/embeddings`,
 * `/v1/models`, `/health` and `/metrics` in vLLM's shapes, plays one of three roles (a generating
 * tier, the router's scorer LLM, the router's embedding server) and injects faults on demand. It is
 * the upstream of a benchmark at thousands of streams per second, so the streaming path writes
 * pre-built frame strings from one timer per stream and never serializes JSON per chunk.
 */
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { parseFault } from './faults';
import type { Fault } from './faults';
import { approxTokens, embedText, promptToRate, rateComplexity, ratingTopLogprobs } from './scoring';
import type { TextEmbedder } from './sentence-embedder';

export type { Fault } from './faults';
export { FAULT_KINDS, parseFault } from './faults';

/** What a simulated server plays: a generating tier, the scorer LLM or the embedding server. */
export type SimulatorRole = 'generate' | 'scorer' | 'embedding';

/** Options of {@link startVllmSimulator}. */
export interface SimulatorOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** Served model name, reported by /v1/models and /metrics (responses echo the request's `model`). @default 'sim-model' */
  readonly model?: string;
  /** @default 'generate' */
  readonly role?: SimulatorRole;
  /** Content chunks (one token each) per generated answer, capped by the request's `max_tokens`. @default 20 */
  readonly chunks?: number;
  /** Time between content chunks. @default 5 */
  readonly chunkIntervalMs?: number;
  /** Time from the response headers to the first token; also the latency of an embeddings call. @default 0 */
  readonly firstTokenDelayMs?: number;
  /** Length of embedding vectors of the hashing embedder. @default 64 */
  readonly embeddingDims?: number;
  /**
   * Embedder of the `embedding` role: a real sentence-embedding model (see sentence-embedder.ts).
   * @default the deterministic hashing embedder with `embeddingDims` dimensions
   */
  readonly embedder?: TextEmbedder;
}

/** Counters of one simulator, since start or the last reset. */
export interface SimulatorStats {
  /** Requests to /v1/* (any method). */
  requests: number;
  /** Requests per path, every path except the /_sim control endpoints. */
  byPath: Record<string, number>;
  /** /v1/* POST requests in flight now (not reset by resetStats). */
  active: number;
  /** /v1/* POST requests whose client went away before the response ended. */
  aborted: number;
  /** /v1/* POST requests whose response ended normally (any status). */
  completed: number;
  /** TCP connections accepted (not reset by resetStats). */
  connections: number;
  /** The last 20 parsed request bodies of /v1/* POST requests, oldest first. */
  lastBodies: unknown[];
  /** `x-request-id` of the last 20 /v1/* POST requests that sent one, oldest first. */
  lastRequestIds: string[];
}

/** A running simulator. */
export interface SimulatorHandle {
  /** Server root, e.g. `http://127.0.0.1:9101`; clients append `/v1/...`. */
  readonly url: string;
  readonly port: number;
  stats(): SimulatorStats;
  resetStats(): void;
  /** Queues a fault for the next /v1/* POST requests (or, for `unhealthy`, fails /health). */
  pushFault(f: Fault): void;
  /** Drops queued faults and makes /health healthy again. */
  clearFaults(): void;
  /** Stops listening and destroys every open socket. */
  close(): Promise<void>;
}

const SSE_HEADERS: http.OutgoingHttpHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};
const JSON_TYPE = 'application/json';

/** Tokens of the generated answer, already JSON string literals so frames are plain concatenation. */
const ANSWER_TOKENS: readonly string[] = (
  'This| is| a| simulated| answer| from| the| vLLM| simulator|,| streamed| one| token| at| a| time|' +
  ' so| that| clients|,| proxies| and| benchmarks| can| be| tested| without| a| GPU|.'
)
  .split('|')
  .map((t) => JSON.stringify(t));

/** What a non-number scorer answer looks like (the `garbage` fault on a scorer). */
const SCORER_GARBAGE = 'Hard to say; it looks moderately involved.';
/** Body of the `garbage` fault on a generating tier or embedding server. */
const GARBAGE_BODY = '<!doctype html><title>502</title>upstream answered something that is not JSON\n';

/** Latency histogram bucket bounds (seconds) for /metrics. */
const HISTOGRAM_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts = new Array<number>(HISTOGRAM_BOUNDS.length).fill(0);
  count = 0;
  sum = 0;
  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    for (let i = 0; i < HISTOGRAM_BOUNDS.length; i++) if (seconds <= HISTOGRAM_BOUNDS[i]) this.counts[i]++;
  }
  render(name: string, labels: string): string {
    let out = `# TYPE ${name} histogram\n`;
    for (let i = 0; i < HISTOGRAM_BOUNDS.length; i++) {
      out += `${name}_bucket{${labels},le="${HISTOGRAM_BOUNDS[i]}"} ${this.counts[i]}\n`;
    }
    out += `${name}_bucket{${labels},le="+Inf"} ${this.count}\n`;
    out += `${name}_sum{${labels}} ${this.sum}\n${name}_count{${labels}} ${this.count}\n`;
    return out;
  }
}

/** A queued fault with its remaining uses. */
interface QueuedFault {
  readonly fault: Fault;
  remaining: number;
}

/** One /v1/* POST request in flight. */
interface Exchange {
  readonly res: http.ServerResponse;
  readonly start: number;
  timer: NodeJS.Timeout | null;
  /** The simulator itself destroyed the socket (a reset fault): neither aborted nor completed. */
  selfDestroyed: boolean;
  /** Counted in vllm:num_requests_waiting (held by a delay or no-headers fault). */
  waiting: boolean;
  /** Counted in vllm:num_requests_running. */
  running: boolean;
}

/** A validated generation request. */
interface Generation {
  readonly kind: 'chat' | 'completion';
  readonly model: string;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly promptTokens: number;
  /** Content chunks to send. */
  readonly n: number;
  readonly finishReason: 'stop' | 'length';
  /** Scorer answer text (one chunk); absent for a generating tier, which uses ANSWER_TOKENS. */
  readonly scorerText?: string;
  /** Chat `logprobs` entry for the scorer answer, or completions-style logprobs; absent when not asked. */
  readonly logprobs?: unknown;
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

function errorType(status: number): string {
  if (status === 400) return 'BadRequestError';
  if (status === 401) return 'AuthenticationError';
  if (status === 404) return 'NotFoundError';
  if (status === 422) return 'UnprocessableEntityError';
  if (status === 429) return 'RateLimitError';
  if (status === 503) return 'ServiceUnavailableError';
  if (status >= 500) return 'InternalServerError';
  return 'Error';
}

/** The OpenAI-shaped error body vLLM sends. */
export function errorBody(status: number, message: string, param: string | null = null): string {
  return JSON.stringify({ error: { message, type: errorType(status), param, code: status } });
}

function sendJson(res: http.ServerResponse, status: number, body: string, extra?: http.OutgoingHttpHeaders): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

/** Text of a chat message `content`: a string, or the text parts of an array. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    let out = '';
    for (const part of content) {
      if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
        out += (out ? '\n' : '') + (part as { text: string }).text;
      }
    }
    return out;
  }
  return '';
}

function optionalInt(body: Record<string, unknown>, name: string, min: number): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RequestError(400, `${name}: got ${JSON.stringify(v)}, expected an integer >= ${min}`, name);
  }
  return v;
}

/** Starts a simulated vLLM server and resolves once it listens. */
export function startVllmSimulator(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const host = opts.host ?? '127.0.0.1';
  const servedModel = opts.model ?? 'sim-model';
  const role: SimulatorRole = opts.role ?? 'generate';
  const chunks = opts.chunks ?? 20;
  const chunkIntervalMs = opts.chunkIntervalMs ?? 5;
  const firstTokenDelayMs = opts.firstTokenDelayMs ?? 0;
  const embeddingDims = opts.embeddingDims ?? 64;
  const embedder = opts.embedder;
  const problems: string[] = [];
  const checkInt = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) problems.push(`${name}: got ${v}, expected an integer >= ${min}`);
  };
  checkInt('chunks', chunks, 0);
  checkInt('chunkIntervalMs', chunkIntervalMs, 0);
  checkInt('firstTokenDelayMs', firstTokenDelayMs, 0);
  checkInt('embeddingDims', embeddingDims, 1);
  if (opts.port !== undefined) checkInt('port', opts.port, 0);
  if (!['generate', 'scorer', 'embedding'].includes(role)) {
    problems.push(`role: got ${JSON.stringify(role)}, expected generate, scorer or embedding`);
  }
  if (problems.length > 0) return Promise.reject(new Error(`vLLM simulator: ${problems.join('; ')}`));

  const idPrefix = randomBytes(6).toString('hex');
  let seq = 0;
  const nextId = (prefix: string): string => `${prefix}-${idPrefix}${(seq++).toString(16).padStart(8, '0')}`;

  const stats: SimulatorStats = { requests: 0, byPath: {}, active: 0, aborted: 0, completed: 0, connections: 0, lastBodies: [], lastRequestIds: [] };
  const faults: QueuedFault[] = [];
  let unhealthy = false;
  // Live gauges and counters for /metrics.
  let running = 0;
  let waiting = 0;
  let promptTokensTotal = 0;
  let generationTokensTotal = 0;
  let requestsSuccess = 0;
  const ttft = new Histogram();
  const e2e = new Histogram();
  const modelLabel = `model_name=${JSON.stringify(servedModel)}`;

  const pushFault = (input: Fault): void => {
    const f = parseFault(input);
    if (f.kind === 'unhealthy') {
      unhealthy = true;
      return;
    }
    faults.push({ fault: f, remaining: f.times ?? 1 });
  };

  const takeFault = (req: http.IncomingMessage): Fault | null => {
    const header = req.headers['x-simulator-fault'];
    if (typeof header === 'string') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(header);
      } catch {
        throw new RequestError(400, 'x-simulator-fault: not valid JSON');
      }
      try {
        return parseFault(parsed);
      } catch (e) {
        throw new RequestError(400, (e as Error).message);
      }
    }
    const head = faults[0];
    if (!head) return null;
    if (--head.remaining <= 0) faults.shift();
    return head.fault;
  };

  const markWaiting = (ex: Exchange, on: boolean): void => {
    if (ex.waiting === on) return;
    ex.waiting = on;
    waiting += on ? 1 : -1;
  };
  const markRunning = (ex: Exchange): void => {
    if (ex.running) return;
    ex.running = true;
    running++;
  };

  const resetSocket = (ex: Exchange): void => {
    ex.selfDestroyed = true;
    ex.res.socket?.destroy();
  };

  // ---- generation ----------------------------------------------------------------------------

  const parseGeneration = (kind: 'chat' | 'completion', body: Record<string, unknown>): Generation => {
    let promptText: string;
    let rateText: string;
    if (kind === 'chat') {
      const messages = body.messages;
      if (!Array.isArray(messages) || messages.length === 0) {
        throw new RequestError(400, 'messages: field required, expected a non-empty list', 'messages');
      }
      promptText = '';
      rateText = '';
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i] as { role?: unknown; content?: unknown } | null;
        if (!m || typeof m !== 'object' || typeof m.role !== 'string') {
          throw new RequestError(400, `messages.${i}.role: field required`, `messages.${i}.role`);
        }
        const text = contentText(m.content);
        promptText += text;
        if (m.role === 'user') rateText = text;
      }
      if (rateText === '') rateText = contentText((messages[messages.length - 1] as { content?: unknown }).content);
    } else {
      const prompt = body.prompt;
      if (typeof prompt === 'string') promptText = prompt;
      else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string')) {
        promptText = prompt.join('\n');
      } else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'number')) {
        promptText = 'x'.repeat(prompt.length * 4);
      } else {
        throw new RequestError(400, 'prompt: field required, expected a string or a list of strings', 'prompt');
      }
      rateText = promptText;
    }
    const stream = body.stream;
    if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
      throw new RequestError(400, `stream: got ${JSON.stringify(stream)}, expected a boolean`, 'stream');
    }
    const maxTokens = optionalInt(body, 'max_completion_tokens', 0) ?? optionalInt(body, 'max_tokens', 0);
    const so = body.stream_options as { include_usage?: unknown } | undefined | null;
    const includeUsage = stream === true && !!so && typeof so === 'object' && so.include_usage === true;
    const model = typeof body.model === 'string' && body.model !== '' ? body.model : servedModel;
    const promptTokens = approxTokens(promptText);

    if (role === 'scorer') {
      const rating = rateComplexity(promptToRate(rateText));
      return scorerGeneration(kind, body, { model, stream: stream === true, includeUsage, promptTokens, maxTokens, rating, garbage: false });
    }
    const want = maxTokens === undefined ? chunks : Math.min(chunks, maxTokens);
    return {
      kind,
      model,
      stream: stream === true,
      includeUsage,
      promptTokens,
      n: want,
      finishReason: maxTokens !== undefined && maxTokens < chunks ? 'length' : 'stop',
    };
  };

  const scorerGeneration = (
    kind: 'chat' | 'completion',
    body: Record<string, unknown>,
    p: { model: string; stream: boolean; includeUsage: boolean; promptTokens: number; maxTokens?: number; rating: number; garbage: boolean },
  ): Generation => {
    const text = p.garbage ? SCORER_GARBAGE : String(p.rating);
    const n = p.maxTokens === 0 ? 0 : 1;
    let logprobs: unknown;
    if (kind === 'chat' && body.logprobs === true && n > 0) {
      const top = optionalInt(body, 'top_logprobs', 0) ?? 0;
      const entries = p.garbage
        ? [
            { token: 'Hard', logprob: -0.2, bytes: [...Buffer.from('Hard')] },
            { token: 'It', logprob: -1.9, bytes: [...Buffer.from('It')] },
            { token: 'The', logprob: -3.1, bytes: [...Buffer.from('The')] },
          ].slice(0, top)
        : ratingTopLogprobs(p.rating, top);
      const first = p.garbage ? 'Hard' : text;
      const own = p.garbage ? -0.2 : ratingTopLogprobs(p.rating, 11).find((e) => e.token === first)!.logprob;
      logprobs = { content: [{ token: first, logprob: own, bytes: [...Buffer.from(first)], top_logprobs: entries }] };
    } else if (kind === 'completion' && typeof body.logprobs === 'number' && n > 0) {
      const top = ratingTopLogprobs(p.rating, Math.min(20, Math.max(0, body.logprobs as number)));
      const own = ratingTopLogprobs(p.rating, 11).find((e) => e.token === text)?.logprob ?? -0.2;
      logprobs = {
        tokens: [text],
        token_logprobs: [own],
        top_logprobs: [Object.fromEntries(top.map((e) => [e.token, e.logprob]))],
        text_offset: [0],
      };
    }
    return {
      kind,
      model: p.model,
      stream: p.stream,
      includeUsage: p.includeUsage,
      promptTokens: p.promptTokens,
      n,
      finishReason: n === 0 ? 'length' : 'stop',
      scorerText: text,
      logprobs,
    };
  };

  /** Frame builders for one streamed answer; content frames are plain string concatenation. */
  const framesFor = (g: Generation, id: string, created: number) => {
    const modelJson = JSON.stringify(g.model);
    const object = g.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const head = `data: {"id":"${id}","object":"${object}","created":${created},"model":${modelJson},"choices":[{"index":0,`;
    const tailNull = `,"logprobs":null,"finish_reason":null}]}\n\n`;
    const role = g.kind === 'chat' ? `${head}"delta":{"role":"assistant","content":""}${tailNull}` : '';
    const content = (i: number): string => {
      if (g.scorerText !== undefined) {
        const lp = g.logprobs === undefined ? 'null' : JSON.stringify(g.logprobs);
        const t = JSON.stringify(g.scorerText);
        return g.kind === 'chat'
          ? `${head}"delta":{"content":${t}},"logprobs":${lp},"finish_reason":null}]}\n\n`
          : `${head}"text":${t},"logprobs":${lp},"finish_reason":null}]}\n\n`;
      }
      const t = ANSWER_TOKENS[i % ANSWER_TOKENS.length];
      return g.kind === 'chat' ? `${head}"delta":{"content":${t}}${tailNull}` : `${head}"text":${t}${tailNull}`;
    };
    const finish =
      (g.kind === 'chat' ? `${head}"delta":{}` : `${head}"text":""`) +
      `,"logprobs":null,"finish_reason":"${g.finishReason}","stop_reason":null}]}\n\n`;
    const usage = g.includeUsage
      ? `data: {"id":"${id}","object":"${object}","created":${created},"model":${modelJson},"choices":[],` +
        `"usage":{"prompt_tokens":${g.promptTokens},"total_tokens":${g.promptTokens + g.n},"completion_tokens":${g.n}}}\n\n`
      : '';
    return { role, content, end: `${finish}${usage}data: [DONE]\n\n` };
  };

  const finishAccounting = (ex: Exchange): void => {
    requestsSuccess++;
    e2e.observe((performance.now() - ex.start) / 1000);
  };

  /**
   * Streams an answer: role chunk with the first token, `n` content chunks, finish, usage, [DONE].
   * Under the `queued` fault the request first waits in the (simulated) queue: headers at once, as
   * vLLM sends them, and nothing more until it is scheduled.
   */
  const runStream = (ex: Exchange, g: Generation, fault: Fault | null): void => {
    const res = ex.res;
    const created = Math.floor(Date.now() / 1000);
    const id = nextId(g.kind === 'chat' ? 'chatcmpl' : 'cmpl');
    const queuedMs = fault && fault.kind === 'queued' ? fault.ms : 0;
    if (queuedMs > 0) markWaiting(ex, true);
    else markRunning(ex);
    res.writeHead(200, SSE_HEADERS);
    if (fault && fault.kind === 'malformed-sse') {
      runMalformedStream(ex, g, id, created);
      return;
    }
    const frames = framesFor(g, id, created);
    const stopAt =
      fault && (fault.kind === 'stall-mid-stream' || fault.kind === 'reset-mid-stream')
        ? Math.min(fault.afterChunks, g.n)
        : -1;
    let sent = 0;
    let done = false;
    const stop = (): void => {
      done = true;
      if (ex.timer) clearTimeout(ex.timer);
      ex.timer = null;
    };
    const tick = (): void => {
      if (sent === stopAt) {
        stop();
        if (fault!.kind === 'reset-mid-stream') resetSocket(ex);
        // stall-mid-stream: keep the socket open and say nothing more.
        return;
      }
      if (sent === 0) ttft.observe((performance.now() - ex.start) / 1000);
      if (g.n === 0) {
        stop();
        finishAccounting(ex);
        res.end(frames.role + frames.end);
        return;
      }
      const out = sent === 0 ? frames.role + frames.content(0) : frames.content(sent);
      sent++;
      generationTokensTotal++;
      if (sent === g.n && stopAt !== g.n) {
        stop();
        finishAccounting(ex);
        res.end(out + frames.end);
        return;
      }
      res.write(out);
    };
    const begin = (): void => {
      ex.timer = null;
      if (queuedMs > 0) {
        markWaiting(ex, false);
        markRunning(ex);
      }
      tick();
      if (!done) ex.timer = setInterval(tick, chunkIntervalMs);
    };
    if (queuedMs + firstTokenDelayMs > 0 || stopAt === 0) {
      // Headers go out now; the first token follows after the queue wait and the (simulated) prefill.
      res.flushHeaders();
      ex.timer = setTimeout(begin, queuedMs + firstTokenDelayMs);
    } else {
      begin();
    }
  };

  /**
   * The `malformed-sse` fault: a valid answer whose frames are split across writes, with CRLF line
   * ends, comment lines and one `data:` line that is not JSON, still ending with [DONE].
   */
  const runMalformedStream = (ex: Exchange, g: Generation, id: string, created: number): void => {
    const frames = framesFor(g, id, created);
    const list: string[] = [': simulator comment line\n\n'];
    if (g.n === 0) list.push(frames.role);
    for (let i = 0; i < g.n; i++) {
      list.push(i === 0 ? frames.role + frames.content(0) : frames.content(i));
      if (i === 0) list.push('data: {not json\n\n', ': another comment\n\n');
    }
    list.push(frames.end);
    const crlf = list.map((f) => f.replace(/\n/g, '\r\n'));
    // Cut every frame in the middle so that each write ends inside a frame.
    const writes: string[] = [];
    let carry = '';
    for (const f of crlf) {
      const mid = Math.max(1, Math.floor(f.length / 2));
      writes.push(carry + f.slice(0, mid));
      carry = f.slice(mid);
    }
    writes.push(carry);
    generationTokensTotal += g.n;
    let i = 0;
    const tick = (): void => {
      const w = writes[i++];
      if (i === writes.length) {
        if (ex.timer) clearTimeout(ex.timer);
        ex.timer = null;
        finishAccounting(ex);
        ex.res.end(w);
        return;
      }
      ex.res.write(w);
    };
    tick();
    ex.timer = setInterval(tick, Math.max(1, chunkIntervalMs));
  };

  const completeBody = (g: Generation): string => {
    const id = nextId(g.kind === 'chat' ? 'chatcmpl' : 'cmpl');
    const created = Math.floor(Date.now() / 1000);
    let text = '';
    if (g.scorerText !== undefined) text = g.n > 0 ? g.scorerText : '';
    else for (let i = 0; i < g.n; i++) text += JSON.parse(ANSWER_TOKENS[i % ANSWER_TOKENS.length]) as string;
    const usage = { prompt_tokens: g.promptTokens, total_tokens: g.promptTokens + g.n, completion_tokens: g.n };
    const logprobs = g.logprobs ?? null;
    const choice =
      g.kind === 'chat'
        ? {
            index: 0,
            message: { role: 'assistant', content: text, tool_calls: [] },
            logprobs,
            finish_reason: g.finishReason,
            stop_reason: null,
          }
        : { index: 0, text, logprobs, finish_reason: g.finishReason, stop_reason: null };
    return JSON.stringify({
      id,
      object: g.kind === 'chat' ? 'chat.completion' : 'text_completion',
      created,
      model: g.model,
      choices: [choice],
      usage,
    });
  };

  /** Answers a non-streamed request once the whole (simulated) generation would be done. */
  const runComplete = (ex: Exchange, g: Generation, fault: Fault | null): void => {
    markRunning(ex);
    const body = completeBody(g);
    if (fault && (fault.kind === 'stall-mid-stream' || fault.kind === 'reset-mid-stream')) {
      // Headers and half the body, then silence or a reset.
      ex.res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
      ex.res.write(body.slice(0, Math.floor(body.length / 2)));
      if (fault.kind === 'reset-mid-stream') {
        ex.timer = setTimeout(() => resetSocket(ex), Math.max(1, chunkIntervalMs));
      }
      return;
    }
    const send = (): void => {
      ex.timer = null;
      generationTokensTotal += g.n;
      ttft.observe((performance.now() - ex.start) / 1000);
      finishAccounting(ex);
      sendJson(ex.res, 200, body);
    };
    const wait = firstTokenDelayMs + Math.max(0, g.n - 1) * chunkIntervalMs;
    if (wait === 0) send();
    else ex.timer = setTimeout(send, wait);
  };

  // ---- embeddings ----------------------------------------------------------------------------

  interface EmbeddingsRequest {
    readonly texts: string[];
    readonly format: 'float' | 'base64';
    readonly model: string;
  }

  const parseEmbeddings = (body: Record<string, unknown>): EmbeddingsRequest => {
    const input = body.input;
    let texts: string[];
    if (typeof input === 'string') texts = [input];
    else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string')) texts = input as string[];
    else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'number')) {
      texts = [(input as number[]).map((t) => `t${t}`).join(' ')];
    } else if (
      Array.isArray(input) &&
      input.length > 0 &&
      input.every((x) => Array.isArray(x) && x.every((t) => typeof t === 'number'))
    ) {
      texts = (input as number[][]).map((ts) => ts.map((t) => `t${t}`).join(' '));
    } else {
      throw new RequestError(400, 'input: field required, expected a string or a list of strings', 'input');
    }
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') {
      throw new RequestError(400, `encoding_format: got ${JSON.stringify(format)}, expected float or base64`, 'encoding_format');
    }
    const model = typeof body.model === 'string' && body.model !== '' ? body.model : servedModel;
    return { texts, format, model };
  };

  const embeddingsBody = (r: EmbeddingsRequest, vectors: ArrayLike<number>[]): string => {
    let promptTokens = 0;
    const data = r.texts.map((t, index) => {
      promptTokens += approxTokens(t);
      const v = vectors[index];
      const embedding = r.format === 'base64' ? Buffer.from(Float32Array.from(v).buffer).toString('base64') : Array.from(v);
      return { index, object: 'embedding', embedding };
    });
    promptTokensTotal += promptTokens;
    return JSON.stringify({
      id: nextId('embd'),
      object: 'list',
      created: Math.floor(Date.now() / 1000),
      model: r.model,
      data,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens, completion_tokens: 0 },
    });
  };

  const respondEmbeddings = (ex: Exchange, out: string, fault: Fault | null): void => {
    if (fault && (fault.kind === 'stall-mid-stream' || fault.kind === 'reset-mid-stream')) {
      ex.res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(out) });
      ex.res.write(out.slice(0, Math.floor(out.length / 2)));
      if (fault.kind === 'reset-mid-stream') ex.timer = setTimeout(() => resetSocket(ex), Math.max(1, chunkIntervalMs));
      return;
    }
    const send = (): void => {
      ex.timer = null;
      requestsSuccess++;
      e2e.observe((performance.now() - ex.start) / 1000);
      sendJson(ex.res, 200, out);
    };
    if (firstTokenDelayMs === 0) send();
    else ex.timer = setTimeout(send, firstTokenDelayMs);
  };

  // ---- request handling ----------------------------------------------------------------------

  const serve = (ex: Exchange, path: string, body: unknown, fault: Fault | null): void => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new RequestError(400, 'request body: expected a JSON object');
    }
    const b = body as Record<string, unknown>;
    if (path === '/v1/embeddings') {
      if (role !== 'embedding') throw new RequestError(404, 'The model does not support Embeddings API');
      markRunning(ex);
      const r = parseEmbeddings(b);
      if (!embedder) {
        respondEmbeddings(ex, embeddingsBody(r, r.texts.map((t) => embedText(t, embeddingDims))), fault);
        return;
      }
      // A real model answers asynchronously; the client may have left meanwhile.
      embedder.embed(r.texts).then(
        (vectors) => {
          if (!ex.res.destroyed) respondEmbeddings(ex, embeddingsBody(r, vectors), fault);
        },
        (e: Error) => {
          if (!ex.res.headersSent && !ex.res.destroyed) sendJson(ex.res, 500, errorBody(500, `embedding failed: ${e.message}`, null));
        },
      );
      return;
    }
    const kind = path === '/v1/chat/completions' ? 'chat' : path === '/v1/completions' ? 'completion' : null;
    if (kind === null) throw new RequestError(404, `Not Found: ${path}`);
    if (role === 'embedding') {
      throw new RequestError(404, `The model does not support ${kind === 'chat' ? 'Chat Completions' : 'Completions'} API`);
    }
    let g = parseGeneration(kind, b);
    if (fault && fault.kind === 'garbage' && role === 'scorer') {
      g = scorerGeneration(kind, b, {
        model: g.model,
        stream: g.stream,
        includeUsage: g.includeUsage,
        promptTokens: g.promptTokens,
        rating: 0,
        garbage: true,
      });
    }
    promptTokensTotal += g.promptTokens;
    if (g.stream) runStream(ex, g, fault);
    else runComplete(ex, g, fault);
  };

  const handleApi = (req: http.IncomingMessage, res: http.ServerResponse, path: string): void => {
    const ex: Exchange = { res, start: performance.now(), timer: null, selfDestroyed: false, waiting: false, running: false };
    stats.active++;
    res.on('close', () => {
      stats.active--;
      if (ex.timer) clearTimeout(ex.timer);
      ex.timer = null;
      markWaiting(ex, false);
      if (ex.running) {
        ex.running = false;
        running--;
      }
      if (res.writableFinished) stats.completed++;
      else if (!ex.selfDestroyed) stats.aborted++;
    });
    let fault: Fault | null;
    try {
      fault = takeFault(req);
    } catch (e) {
      req.resume();
      const err = e as RequestError;
      sendJson(res, err.status, errorBody(err.status, err.message, err.param));
      return;
    }
    const parts: Buffer[] = [];
    const rid = req.headers['x-request-id'];
    if (typeof rid === 'string') {
      stats.lastRequestIds.push(rid);
      if (stats.lastRequestIds.length > 20) stats.lastRequestIds.shift();
    }
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      if (res.destroyed) return;
      const raw = parts.length === 1 ? parts[0].toString('utf8') : Buffer.concat(parts).toString('utf8');
      let body: unknown;
      let parseError: string | null = null;
      try {
        body = JSON.parse(raw);
        stats.lastBodies.push(body);
        if (stats.lastBodies.length > 20) stats.lastBodies.shift();
      } catch (e) {
        parseError = (e as Error).message;
      }
      const proceed = (f: Fault | null): void => {
        try {
          if (parseError !== null) throw new RequestError(400, `Invalid JSON body: ${parseError}`);
          serve(ex, path, body, f);
        } catch (e) {
          const status = e instanceof RequestError ? e.status : 500;
          const param = e instanceof RequestError ? e.param : null;
          if (!res.headersSent) sendJson(res, status, errorBody(status, (e as Error).message, param));
          else res.destroy();
        }
      };
      if (!fault) {
        proceed(null);
        return;
      }
      switch (fault.kind) {
        case 'status': {
          const extra: http.OutgoingHttpHeaders = {};
          if (fault.retryAfterSeconds !== undefined) extra['retry-after'] = String(fault.retryAfterSeconds);
          const text = fault.body ?? errorBody(fault.status, `Simulated upstream error (status ${fault.status})`);
          sendJson(res, fault.status, text, extra);
          return;
        }
        case 'reset-before-headers':
          resetSocket(ex);
          return;
        case 'no-headers':
          // Hold the request until the client gives up.
          markWaiting(ex, true);
          return;
        case 'queued':
        case 'delay':
          if (fault.kind === 'queued' && (body as { stream?: unknown } | undefined)?.stream === true) {
            proceed(fault);
            return;
          }
          // A delay, or a queued non-streamed answer (it sends nothing before it is done).
          markWaiting(ex, true);
          ex.timer = setTimeout(() => {
            ex.timer = null;
            markWaiting(ex, false);
            proceed(null);
          }, fault.ms);
          return;
        case 'garbage':
          if (role === 'scorer' && path !== '/v1/embeddings') {
            proceed(fault);
            return;
          }
          res.writeHead(200, {
            'content-type': (body as { stream?: unknown } | undefined)?.stream === true ? SSE_HEADERS['content-type'] : JSON_TYPE,
          });
          res.end(GARBAGE_BODY);
          return;
        default:
          proceed(fault);
      }
    });
  };

  const metricsText = (): string => {
    const kv = Math.min(1, running / 256);
    return (
      `# HELP vllm:num_requests_running Number of requests in model execution batches.\n` +
      `# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{${modelLabel}} ${running}\n` +
      `# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n` +
      `# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{${modelLabel}} ${waiting}\n` +
      `# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n` +
      `# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{${modelLabel}} ${kv}\n` +
      `# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n` +
      `# TYPE vllm:prompt_tokens_total counter\nvllm:prompt_tokens_total{${modelLabel}} ${promptTokensTotal}\n` +
      `# HELP vllm:generation_tokens_total Number of generation tokens processed.\n` +
      `# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total{${modelLabel}} ${generationTokensTotal}\n` +
      `# HELP vllm:request_success_total Count of successfully processed requests.\n` +
      `# TYPE vllm:request_success_total counter\nvllm:request_success_total{${modelLabel}} ${requestsSuccess}\n` +
      ttft.render('vllm:time_to_first_token_seconds', modelLabel) +
      e2e.render('vllm:e2e_request_latency_seconds', modelLabel)
    );
  };

  const readJson = (req: http.IncomingMessage, cb: (body: unknown, err: string | null) => void): void => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      try {
        cb(JSON.parse(Buffer.concat(parts).toString('utf8')), null);
      } catch (e) {
        cb(undefined, (e as Error).message);
      }
    });
  };

  const snapshot = (): SimulatorStats => ({
    requests: stats.requests,
    byPath: { ...stats.byPath },
    active: stats.active,
    aborted: stats.aborted,
    completed: stats.completed,
    connections: stats.connections,
    lastBodies: [...stats.lastBodies],
    lastRequestIds: [...stats.lastRequestIds],
  });

  const control = (req: http.IncomingMessage, res: http.ServerResponse, path: string): void => {
    const method = req.method ?? 'GET';
    if (path === '/_sim/faults' && method === 'POST') {
      readJson(req, (body, err) => {
        if (err !== null) return sendJson(res, 400, errorBody(400, `Invalid JSON body: ${err}`));
        try {
          const list = Array.isArray(body) ? body : [body];
          const parsed = list.map(parseFault);
          parsed.forEach(pushFault);
          sendJson(res, 200, JSON.stringify({ queued: faults.length, unhealthy }));
        } catch (e) {
          sendJson(res, 400, errorBody(400, (e as Error).message));
        }
      });
      return;
    }
    req.resume();
    if (path === '/_sim/faults' && method === 'DELETE') {
      handle.clearFaults();
      sendJson(res, 200, JSON.stringify({ queued: 0, unhealthy: false }));
    } else if (path === '/_sim/stats' && method === 'GET') {
      sendJson(res, 200, JSON.stringify(snapshot()));
    } else if (path === '/_sim/stats/reset' && method === 'POST') {
      handle.resetStats();
      sendJson(res, 200, JSON.stringify(snapshot()));
    } else {
      sendJson(res, 404, errorBody(404, `Not Found: ${method} ${path}`));
    }
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    if (path.startsWith('/_sim/')) {
      control(req, res, path);
      return;
    }
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
    const isApi = path.startsWith('/v1/');
    if (isApi) stats.requests++;
    if (req.method === 'POST' && isApi) {
      handleApi(req, res, path);
      return;
    }
    req.resume();
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(unhealthy ? 503 : 200, { 'content-length': 0 });
      res.end();
    } else if (req.method === 'GET' && path === '/v1/models') {
      sendJson(
        res,
        200,
        JSON.stringify({
          object: 'list',
          data: [
            {
              id: servedModel,
              object: 'model',
              created: Math.floor(Date.now() / 1000),
              owned_by: 'vllm',
              root: servedModel,
              parent: null,
              max_model_len: 8192,
            },
          ],
        }),
      );
    } else if (req.method === 'GET' && path === '/metrics') {
      const text = metricsText();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } else if (req.method === 'GET' && path === '/version') {
      sendJson(res, 200, JSON.stringify({ version: 'simulator' }));
    } else {
      sendJson(res, 404, errorBody(404, 'Not Found'));
    }
  };

  const server = http.createServer(onRequest);
  server.on('connection', () => {
    stats.connections++;
  });
  // Long keep-alive so that a proxy's pooled connections stay open across a benchmark run.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.requestTimeout = 0;

  const handle: SimulatorHandle & { url: string; port: number } = {
    url: '',
    port: 0,
    stats: snapshot,
    resetStats: () => {
      stats.requests = 0;
      stats.byPath = {};
      stats.aborted = 0;
      stats.completed = 0;
      stats.lastBodies = [];
      stats.lastRequestIds = [];
    },
    pushFault,
    clearFaults: () => {
      faults.length = 0;
      unhealthy = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      handle.port = port;
      handle.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      resolve(handle);
    });
  });
}
