/**
 * Shadow comparison: a share (`shadow.sampleRate`) of the requests the router decided for a tier
 * below the comparison tier is answered by both tiers, and the prompt with both answers is stored.
 * The client's answer is the one it got (captured as the relay passes it on); the other tier's
 * answer comes from a shadow request sent after the client's response has ended, so the client's
 * bytes and timing are never touched:
 * - route mode (the decided, cheaper tier served): the shadow request goes to the comparison tier;
 * - shadow mode serving the comparison tier: the shadow request goes to the decided tier.
 *
 * A comparison is the first thing given up under load, and always counted (`ShadowDropped`): when
 * the task's shadow requests in flight reach `maxConcurrent`, when the target tier's breaker is
 * open, requests are held for its capacity, or it just answered with no capacity.
 *
 * A shadow request leaves the target tier's dispatch state alone: it takes no breaker permit and
 * reports no failure, is not counted in the tier's `PendingRequests`, `NoCapacityRequests`,
 * `RoutedRequests`, tokens, cost or latency, and never joins a hold queue. Those series drive the
 * scale-from-zero alarm and the dashboards of client traffic; a comparison must not start or grow a
 * tier. It does load the target's vLLM servers (at most `maxConcurrent` per proxy task), which
 * their own queue metrics see.
 */
import type { Logger } from 'pino';
import { routeConfidence } from '../routing/decide';
import type { DecisionRecord } from '../dispatch/decision';
import { isNoCapacity } from '../dispatch/policy';
import type { HoldQueue } from '../dispatch/hold';
import type { ExchangeResult, RoutedRequest, TierRuntime } from '../dispatch/types';
import type { ShadowMetrics } from '../metrics/registry';
import type { ResponseHandlers, ResponseHead, UpstreamCall } from '../transport/types';
import type { Endpoint } from '../validate';
import { AnswerCapture, parseJsonAnswer, type CapturedAnswer } from './capture';
import type { PairStore } from './store';

/** How long a tier that answered a shadow request with "no capacity" gets no other, ms. */
const EMPTY_BACKOFF_MS = 10_000;
/** Captures in progress per allowed shadow request: bounds the memory of sampled streams. */
const CAPTURES_PER_SLOT = 4;

/** What the sampler needs from the proxy config. */
export interface SamplerOptions {
  readonly sampleRate: number;
  /** Index of the tier sampled requests are compared with. */
  readonly compareTier: number;
  readonly maxConcurrent: number;
  readonly maxTokens: number;
  readonly maxCaptureChars: number;
  readonly timeoutMs: number;
  /** Tier boundaries (for the decision's confidence in the pair). */
  readonly boundaries: readonly number[];
}

/** One stored comparison: the prompt, the decision, and both tiers' answers. */
export interface ShadowPair {
  /** The request id (`x-request-id`). */
  readonly id: string;
  /** When the client's answer ended, ISO 8601 UTC. */
  readonly time: string;
  readonly endpoint: Endpoint;
  /** `messages` (chat) or `prompt` (completions), as the client sent it. */
  readonly prompt: unknown;
  /** What the router decided. */
  readonly decision: { readonly tier: string; readonly score: number | null; readonly reason: string; readonly confidence: number | null };
  /** Tier whose answer the client got. */
  readonly served: string;
  /** The decided (cheaper) tier's answer. */
  readonly small: PairAnswer;
  /** The comparison tier's answer. */
  readonly large: PairAnswer;
}

/** One tier's answer in a pair. */
export interface PairAnswer extends CapturedAnswer {
  readonly tier: string;
}

/** The sample of one request: its capture and what was decided. */
interface Sample {
  readonly decided: number;
}

/** Decides which requests are compared, sends the shadow requests, and hands pairs to the store. */
export class ShadowSampler {
  private inFlight = 0;
  private captures = 0;
  private readonly calls = new Set<ShadowCall>();
  private readonly emptyUntil: number[];
  private readonly samples = new WeakMap<AnswerCapture, Sample>();
  private closed = false;

  constructor(
    private readonly opts: SamplerOptions,
    private readonly tiers: readonly TierRuntime[],
    private readonly holds: readonly HoldQueue[],
    private readonly metrics: ShadowMetrics,
    private readonly store: PairStore,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly random: () => number = Math.random,
  ) {
    this.emptyUntil = tiers.map(() => -Infinity);
  }

  /** Shadow requests in flight now. */
  get active(): number {
    return this.inFlight;
  }

  /**
   * At dispatch: a capture when the request is sampled, else undefined. `record`: the request's
   * decision (its shadow decision in shadow mode); `routed`: the router decided (no override).
   */
  consider(endpoint: Endpoint, record: DecisionRecord, routed: boolean): AnswerCapture | undefined {
    if (!routed || this.closed) return undefined;
    const decided = (record.shadow ?? record.decision).tier;
    if (decided >= this.opts.compareTier) return undefined;
    if (this.random() >= this.opts.sampleRate) return undefined;
    if (this.inFlight >= this.opts.maxConcurrent || this.captures >= this.opts.maxConcurrent * CAPTURES_PER_SLOT) {
      this.metrics.drop('Busy');
      return undefined;
    }
    this.captures++;
    const c = new AnswerCapture(endpoint, this.opts.maxCaptureChars, jsonCaptureBytes(this.opts.maxCaptureChars));
    this.samples.set(c, { decided });
    return c;
  }

  /** The exchange of a sampled request ended: send the shadow request, or count why not. */
  finished(ex: ExchangeResult, endpoint: Endpoint): void {
    const capture = ex.capture;
    const sample = capture && this.samples.get(capture);
    if (!capture || !sample) return;
    this.captures--;
    this.samples.delete(capture);
    const served = ex.servedTier;
    const d = sample.decided;
    const L = this.opts.compareTier;
    const target = served === d ? L : served === L ? d : undefined;
    const answer = ex.outcome === 'ok' && ex.status < 300 && target !== undefined ? capture.result() : undefined;
    if (answer === undefined || target === undefined || served === undefined) {
      this.metrics.drop('NotCaptured');
      return;
    }
    if (this.closed) {
      this.metrics.drop('Shutdown');
      return;
    }
    if (this.inFlight >= this.opts.maxConcurrent) {
      this.metrics.drop('Busy');
      return;
    }
    const t = this.tiers[target];
    const now = this.now();
    if (!t.breaker.available(now) || this.holds[target].length > 0 || this.emptyUntil[target] > now) {
      this.metrics.drop('TierUnavailable');
      return;
    }
    const body = shadowBody(ex.r, endpoint, t.cfg.model, this.opts.maxTokens);
    const time = new Date().toISOString();
    const record = ex.record;
    const decision = record.shadow ?? record.decision;
    const names = (i: number) => this.tiers[i].cfg.name;
    this.metrics.samples?.inc();
    this.inFlight++;
    const call = new ShadowCall(t, ex.r, body, this.opts.timeoutMs, jsonCaptureBytes(this.opts.maxCaptureChars), endpoint, this.opts.maxCaptureChars, (outcome) => {
      this.inFlight--;
      this.calls.delete(call);
      if (outcome.kind !== 'answer') {
        if (outcome.kind === 'no-capacity') this.emptyUntil[target] = this.now() + EMPTY_BACKOFF_MS;
        this.metrics.drop(outcome.kind === 'no-capacity' ? 'TierUnavailable' : outcome.kind === 'shutdown' ? 'Shutdown' : 'ShadowFailed');
        this.log.debug({ requestId: ex.r.requestId, tier: t.cfg.name, failure: outcome.why }, 'shadow request failed');
        return;
      }
      const clientSide: PairAnswer = { tier: names(served), ...answer };
      const shadowSide: PairAnswer = { tier: names(target), ...outcome.answer };
      const pair: ShadowPair = {
        id: ex.r.requestId,
        time,
        endpoint,
        prompt: endpoint === 'chat' ? ex.r.body.messages : ex.r.body.prompt,
        decision: {
          tier: names(decision.tier),
          score: decision.score ?? null,
          reason: decision.reason,
          confidence: routeConfidence(this.opts.boundaries, decision.score) ?? null,
        },
        served: names(served),
        small: target === L ? clientSide : shadowSide,
        large: target === L ? shadowSide : clientSide,
      };
      this.store.add(pair);
    });
    this.calls.add(call);
  }

  /** An error inside the proxy ended a comparison: counted as a failed one. */
  failedInside(): void {
    this.metrics.drop('ShadowFailed');
  }

  /** Gives up the shadow requests in flight (counted) and writes the stored pairs that are left. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closed = true;
    for (const c of [...this.calls]) c.shutdown();
    await this.store.close(timeoutMs);
  }
}

/** Bytes of a JSON answer kept for `maxChars` characters of text (escapes, metadata, usage). */
function jsonCaptureBytes(maxChars: number): number {
  return maxChars * 6 + 64 * 1024;
}

/**
 * The shadow request's body: the client's, non-streamed, for the target tier's model, with
 * `max_tokens` (and `max_completion_tokens`, when given) capped.
 */
export function shadowBody(r: RoutedRequest, endpoint: Endpoint, model: string, maxTokens: number): Buffer {
  const b: Record<string, unknown> = { ...r.body, model, stream: false };
  delete b.stream_options;
  const cap = (v: unknown) => (typeof v === 'number' && v > 0 ? Math.min(v, maxTokens) : maxTokens);
  if (endpoint === 'chat' && b.max_completion_tokens !== undefined) b.max_completion_tokens = cap(b.max_completion_tokens);
  else b.max_tokens = cap(b.max_tokens);
  return Buffer.from(JSON.stringify(b));
}

type CallOutcome =
  | { readonly kind: 'answer'; readonly answer: CapturedAnswer }
  | { readonly kind: 'failed' | 'no-capacity' | 'shutdown'; readonly why: string };

/** One shadow request: a non-streamed POST on the tier's upstream client, its own deadline, a bounded body. */
class ShadowCall implements ResponseHandlers {
  private readonly call: UpstreamCall;
  private readonly timer: NodeJS.Timeout;
  private parts: Buffer[] = [];
  private bytes = 0;
  private done = false;

  constructor(
    tier: TierRuntime,
    r: RoutedRequest,
    body: Buffer,
    timeoutMs: number,
    private readonly maxBytes: number,
    private readonly endpoint: Endpoint,
    private readonly maxChars: number,
    private readonly onDone: (o: CallOutcome) => void,
  ) {
    const headers = ['Content-Type', 'application/json', 'Accept', 'application/json', 'X-Request-Id', `${r.requestId}.shadow`];
    this.timer = setTimeout(() => this.end({ kind: 'failed', why: 'deadline' }, 'fault'), timeoutMs);
    this.timer.unref();
    this.call = tier.upstream.stream(r.path, headers, body, this);
  }

  onHead(h: ResponseHead): void {
    if (isNoCapacity(h.status, h.headers.server)) this.end({ kind: 'no-capacity', why: 'no capacity' }, 'unwanted');
    else if (h.status >= 300) this.end({ kind: 'failed', why: `status ${h.status}` }, 'unwanted');
  }

  onBody(data: Buffer | undefined, complete: boolean): void {
    if (this.done) return;
    if (data && data.length > 0) {
      this.bytes += data.length;
      if (this.bytes > this.maxBytes) return this.end({ kind: 'failed', why: 'answer too large' }, 'unwanted');
      this.parts.push(Buffer.from(data));
    }
    if (!complete) return;
    const answer = parseJsonAnswer(Buffer.concat(this.parts).toString('utf8'), this.endpoint, this.maxChars);
    this.finish(answer ? { kind: 'answer', answer } : { kind: 'failed', why: 'unreadable answer' });
  }

  onFail(code: string): void {
    this.finish({ kind: 'failed', why: `connect ${code}` });
  }

  onInternalError(err: unknown): void {
    this.finish({ kind: 'failed', why: `internal error: ${(err as Error)?.message ?? String(err)}` });
  }

  /** The proxy stops: the request is given up. */
  shutdown(): void {
    this.end({ kind: 'shutdown', why: 'shutdown' }, 'unwanted');
  }

  private end(o: CallOutcome, why: 'fault' | 'unwanted'): void {
    if (this.done) return;
    this.call?.destroy(why);
    this.finish(o);
  }

  private finish(o: CallOutcome): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.parts = [];
    this.onDone(o);
  }
}

/**
 * Starts the shadow comparison of a sampled request after its client's response has ended, in a
 * later turn of the event loop (answers relayed in this turn go out first); an error in it ends the
 * comparison alone.
 */
export function compareLater(sampler: ShadowSampler, ex: ExchangeResult, log: Logger): void {
  setImmediate(() => {
    try {
      sampler.finished(ex, ex.r.path === '/v1/chat/completions' ? 'chat' : 'completions');
    } catch (err) {
      sampler.failedInside();
      log.warn({ requestId: ex.r.requestId, err }, 'shadow comparison failed inside the proxy');
    }
  });
}
