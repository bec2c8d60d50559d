/**
 * Dispatch of one routed request: attempts on the chosen tier, retries and failover strictly before
 * the first byte reaches the client, then a byte-for-byte relay with first-token and idle deadlines.
 * After the first byte a failure ends the stream with an SSE error event and no `[DONE]`.
 */
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ProxyConfig, TierConfig } from './config';
import type { CircuitBreaker } from './breaker';
import { sendError, sseErrorFrame } from './errors';
import { INTERNAL_ERROR } from './guard';
import type { TierMetrics } from './metrics/registry';
import type { RouteDecision } from './routing/decide';
import { SseRelay, usageFromJson, type Usage } from './sse';
import type { Upstream } from './upstream';
import type { ResponseHead, StreamRequest } from './rawhttp';

/** One tier at run time. */
export interface TierRuntime {
  readonly index: number;
  readonly cfg: TierConfig;
  readonly upstream: Upstream;
  readonly breaker: CircuitBreaker;
  readonly metrics: TierMetrics;
}

/** What the dispatcher needs from the server. */
export interface DispatchEnv {
  readonly tiers: readonly TierRuntime[];
  readonly dispatch: ProxyConfig['dispatch'];
  /** Monotonic clock, ms. */
  now(): number;
  /** Called once when the exchange is over. */
  onDone(ex: Exchange): void;
}

/** A validated request ready to dispatch. */
export interface RoutedRequest {
  readonly requestId: string;
  /** Upstream path, e.g. `/v1/chat/completions`. */
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly raw: Buffer;
  readonly stream: boolean;
  /** The client asked for `stream_options.include_usage`. */
  readonly clientWantsUsage: boolean;
  /**
   * The client named a tier's model: the body goes upstream as is (plus usage options) and the
   * request stays on that tier (same-tier retries, no failover to a different model).
   */
  readonly modelNamed: boolean;
  readonly decision: RouteDecision;
  /** Arrival time (env clock). */
  readonly startedAt: number;
}

/** How an exchange ended. */
export type ExchangeOutcome = 'ok' | 'passthrough' | 'upstream-failed' | 'unavailable' | 'client-gone' | 'internal-error';

type Attempt =
  | { kind: 'committed' }
  | { kind: 'status'; status: number; retryAfterMs?: number }
  | { kind: 'connect'; reused: boolean; code: string }
  | { kind: 'deadline' }
  | { kind: 'client-gone' };

const INCLUDE_USAGE = Buffer.from(',"stream_options":{"include_usage":true}');
const NEWLINES = Buffer.from('\n\n');

/** One client request's journey through the tiers. */
export class Exchange {
  /** Outcome once done. */
  outcome: ExchangeOutcome | undefined;
  /** Tier that served (or last tried). */
  servedTier: number | undefined;
  /** Attempts made. */
  attempts = 0;
  /** Status sent to the client. */
  status = 0;
  /** Time to first byte (env clock ms), when one was sent. */
  ttftMs: number | undefined;
  /** Usage read from the answer. */
  usage: Usage | undefined;
  /** Last upstream failure, for the log. */
  lastFailure: string | undefined;
  /** `x-session-id` to pin when the answer succeeds. */
  sessionId: string | undefined;
  /** The error inside the proxy that ended the exchange (outcome `internal-error`), for its log line. */
  internalError: unknown;

  private readonly bodies: Array<Buffer | undefined>;
  private upReq: ClientRequest | undefined;
  private upRes: IncomingMessage | undefined;
  /** Streamed attempts: the request on the lightweight client (`rawhttp.ts`). */
  private upRaw: StreamRequest | undefined;
  private pendingTier: TierRuntime | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private idle: NodeJS.Timeout | undefined;
  private relay: SseRelay | undefined;
  private jsonTail: Buffer[] | undefined;
  private jsonBytes = 0;
  /** Bytes read from the tier in the current tick, written before the tick ends. */
  private out: Buffer | undefined;
  private flushQueued = false;
  /** The client socket carries this response and its headers are out: chunks go straight to it. */
  private direct = false;
  private paused = false;
  private committed = false;
  private ended = false;
  private clientGone = false;
  private settle: ((a: Attempt) => void) | undefined;
  private wake: (() => void) | undefined;
  /** The upstream `data` listener of the `node:http` path, as registered. */
  private dataListener: ((chunk: Buffer) => void) | undefined;

  constructor(
    private readonly env: DispatchEnv,
    /** The request being served. */
    readonly r: RoutedRequest,
    private readonly res: ServerResponse,
    private readonly routeHeaders: readonly string[],
  ) {
    this.bodies = new Array<Buffer | undefined>(env.tiers.length);
  }

  /** The client connection closed before the response finished. */
  clientClosed(): void {
    if (this.clientGone || this.ended) return;
    this.clientGone = true;
    if (this.wake) this.wake();
    if (!this.committed) {
      const s = this.settle;
      this.abortUpstream(true);
      if (s) s({ kind: 'client-gone' });
      return;
    }
    this.ended = true;
    this.abortUpstream(true);
    this.pendingTier?.breaker.release();
    this.finish('client-gone');
  }

  /**
   * Ends the exchange after an error inside the proxy, which is not the tier's fault: the upstream
   * is aborted and no breaker counts it; the client gets a 500 before the first byte, an SSE error
   * frame (no `[DONE]`) after it. False when the exchange had already ended.
   */
  internalFailure(err: unknown): boolean {
    if (this.outcome !== undefined) return false;
    this.internalError = err;
    this.lastFailure = 'internal_error';
    // A pending attempt or back-off wakes up and stops, as for a client that left.
    this.clientGone = true;
    this.ended = true;
    this.abortUpstream(true);
    this.pendingTier?.breaker.release();
    if (!this.committed) {
      this.status = INTERNAL_ERROR.status;
      sendError(this.res, INTERNAL_ERROR, this.routeHeaders, true);
    } else if (this.relay && !this.res.writableEnded) {
      if (!this.relay.atBoundary) this.res.write(NEWLINES);
      this.res.end(sseErrorFrame('The proxy failed while relaying this answer.', 'internal_error'));
    } else {
      this.res.destroy();
    }
    this.finish('internal-error');
    this.settle?.({ kind: 'client-gone' });
    this.wake?.();
    return true;
  }

  /** `fn` as an event or timer callback: an error inside it ends this exchange alone. */
  private guarded<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      try {
        fn(...args);
      } catch (err) {
        if (!this.internalFailure(err)) throw err;
      }
    };
  }

  /** Runs attempts until one commits or nothing can serve. */
  async run(): Promise<void> {
    const d = this.env.dispatch;
    const order = this.r.modelNamed ? [this.r.decision.tier] : failoverOrder(this.r.decision.tier, this.env.tiers.length);
    let sawOnly429 = true;
    let minRetryAfterMs: number | undefined;
    let anyTried = false;
    for (const idx of order) {
      if (this.attempts >= d.maxAttempts || this.clientGone) break;
      const t = this.env.tiers[idx];
      if (!t.breaker.tryAcquire(this.env.now())) continue;
      let sameTierRetries = 0;
      for (;;) {
        this.attempts++;
        anyTried = true;
        const a = await this.attempt(t);
        if (a.kind === 'committed') return;
        if (a.kind === 'client-gone') {
          t.breaker.release();
          this.finish('client-gone');
          return;
        }
        t.metrics.upstreamErrors.inc();
        this.lastFailure = describe(a);
        if (a.kind === 'status' && a.status === 429) {
          t.breaker.release();
          if (a.retryAfterMs !== undefined) minRetryAfterMs = Math.min(minRetryAfterMs ?? Infinity, a.retryAfterMs);
          if (a.retryAfterMs !== undefined && a.retryAfterMs <= d.maxRetryAfterMs && this.attempts < d.maxAttempts) {
            await this.sleep(a.retryAfterMs);
            if (this.clientGone) break;
            if (!t.breaker.tryAcquire(this.env.now())) break;
            continue;
          }
          break;
        }
        sawOnly429 = false;
        t.breaker.failure(this.env.now());
        if (a.kind === 'status' && sameTierRetries < d.retries && this.attempts < d.maxAttempts) {
          sameTierRetries++;
          await this.sleep(Math.min(d.maxBackoffMs, d.backoffMs * 2 ** (sameTierRetries - 1)));
          if (this.clientGone) break;
          if (!t.breaker.tryAcquire(this.env.now())) break;
          continue;
        }
        break;
      }
    }
    if (this.clientGone) {
      this.finish('client-gone');
      return;
    }
    if (anyTried && sawOnly429) {
      this.status = 429;
      const secs = Math.max(1, Math.ceil((minRetryAfterMs ?? 1000) / 1000));
      sendError(this.res, { status: 429, message: 'Every model tier is at capacity; retry later.', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' }, [...this.routeHeaders, 'retry-after', String(secs)]);
    } else {
      this.status = 503;
      sendError(
        this.res,
        { status: 503, message: 'No model tier can serve this request right now.', type: 'server_error', param: null, code: 'all_tiers_unavailable' },
        [...this.routeHeaders, 'retry-after', '1'],
      );
    }
    this.finish('unavailable');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** The upstream body for a tier: the client's bytes when possible, else re-serialized. */
  private bodyFor(t: TierRuntime): Buffer {
    const cached = this.bodies[t.index];
    if (cached) return cached;
    const r = this.r;
    let out: Buffer;
    if (r.modelNamed && (!r.stream || r.clientWantsUsage)) out = r.raw;
    else if (r.modelNamed && r.body.stream_options === undefined) out = spliceIncludeUsage(r.raw) ?? serialize(r, t.cfg.model);
    else out = serialize(r, t.cfg.model);
    this.bodies[t.index] = out;
    return out;
  }

  private attempt(t: TierRuntime): Promise<Attempt> {
    return new Promise<Attempt>((resolve) => {
      let settled = false;
      // Handlers below use this attempt's own `settle`: a late error from an aborted attempt must
      // never settle the next one.
      const settle = (a: Attempt) => {
        if (settled) return;
        settled = true;
        if (this.settle === settle) this.settle = undefined;
        if (this.deadline) clearTimeout(this.deadline);
        this.deadline = undefined;
        if (a.kind !== 'committed') this.releasePending();
        resolve(a);
      };
      this.settle = settle;
      const payload = this.bodyFor(t);
      if (this.r.stream && t.upstream.streams) {
        this.rawAttempt(t, payload, settle);
        return;
      }
      const headers: OutgoingHttpHeaders = {
        'content-type': 'application/json',
        'content-length': payload.length,
        accept: this.r.stream ? 'text/event-stream' : 'application/json',
        'x-request-id': this.r.requestId,
      };
      const up = t.upstream.request('POST', this.r.path, headers);
      this.upReq = up;
      this.pendingTier = t;
      t.metrics.pending++;
      this.servedTier = t.index;
      const d = this.env.dispatch;
      this.deadline = setTimeout(() => {
        up.destroy();
        settle({ kind: 'deadline' });
      }, this.r.stream ? d.firstTokenTimeoutMs : d.nonStreamTimeoutMs);
      up.on('error', (e: NodeJS.ErrnoException) => {
        if (this.committed) return;
        settle({ kind: 'connect', reused: up.reusedSocket, code: e.code ?? 'ERROR' });
      });
      up.on('response', this.guarded((res: IncomingMessage) => this.onResponse(t, res, settle)));
      up.end(payload);
    });
  }

  /** A streamed attempt on the lightweight client. */
  private rawAttempt(t: TierRuntime, payload: Buffer, settle: (a: Attempt) => void): void {
    const headers = ['Content-Type', 'application/json', 'Accept', 'text/event-stream', 'X-Request-Id', this.r.requestId];
    const up: StreamRequest = t.upstream.stream(this.r.path, headers, payload, {
      onHead: (h) => this.onRawHead(t, up, h, settle),
      onBody: this.onRawBody,
      onInternalError: (err) => this.internalFailure(err),
      onFail: (code) => {
        if (this.committed) {
          if (this.upRaw === up && !this.ended) this.midStreamFailure('The model tier closed the connection mid-answer.', 'upstream_reset');
          return;
        }
        settle({ kind: 'connect', reused: up.reusedSocket, code });
      },
    });
    this.upReq = undefined;
    this.upRaw = up;
    this.pendingTier = t;
    t.metrics.pending++;
    this.servedTier = t.index;
    this.deadline = setTimeout(() => {
      up.destroy();
      settle({ kind: 'deadline' });
    }, this.env.dispatch.firstTokenTimeoutMs);
  }

  private onRawHead(t: TierRuntime, up: StreamRequest, h: ResponseHead, settle: (a: Attempt) => void): void {
    if (this.settle !== settle || this.clientGone) {
      up.destroy();
      return;
    }
    const status = h.status;
    if (status >= 500 || status === 429) {
      const retryAfterMs = status === 429 ? parseRetryAfter(h.headers['retry-after']) : undefined;
      up.destroy();
      settle({ kind: 'status', status, retryAfterMs });
      return;
    }
    this.committed = true;
    settle({ kind: 'committed' });
    this.commitHead(t, status, h.headers['content-type'], h.headers['content-length']);
  }

  /**
   * Body bytes of one upstream read on the lightweight client; `complete` when the body ended.
   * `chunk` is a view of the client's shared read buffer: whatever outlives this call is copied
   * (a chunk written straight to the client socket is copied by its framing).
   */
  private readonly onRawBody = (chunk: Buffer | undefined, complete: boolean): void => {
    if (this.ended) return;
    let out: Buffer | undefined;
    if (chunk !== undefined && chunk.length > 0) {
      this.idle?.refresh();
      if (this.ttftMs === undefined) {
        this.ttftMs = this.env.now() - this.r.startedAt;
        if (this.status < 300) this.pendingTier?.metrics.ttft.record(this.ttftMs);
      }
      out = chunk;
      if (this.relay) out = this.relay.push(chunk);
      else if (this.jsonTail) {
        this.jsonTail.push(Buffer.from(chunk));
        this.jsonBytes += chunk.length;
        while (this.jsonTail.length > 1 && this.jsonBytes - this.jsonTail[0].length >= 4096) this.jsonBytes -= this.jsonTail.shift()!.length;
      }
    }
    if (complete) {
      // The last bytes leave with the end of the response, in one write.
      if (out !== undefined && out.length > 0) this.out = Buffer.from(out);
      this.onEnd();
      return;
    }
    if (out !== undefined && out.length > 0) this.send(out);
  };

  private onResponse(t: TierRuntime, up: IncomingMessage, settle: (a: Attempt) => void): void {
    if (this.settle !== settle || this.clientGone) {
      up.resume();
      return;
    }
    const status = up.statusCode ?? 502;
    if (status >= 500 || status === 429 || status < 200) {
      const retryAfterMs = status === 429 ? parseRetryAfter(up.headers['retry-after']) : undefined;
      up.resume();
      up.on('error', noop);
      settle({ kind: 'status', status, retryAfterMs });
      return;
    }
    // 2xx streams or JSON; other 4xx pass through unchanged. Either way this tier answered.
    this.committed = true;
    this.upRes = up;
    settle({ kind: 'committed' });
    this.commit(t, up, status);
  }

  private commit(t: TierRuntime, up: IncomingMessage, status: number): void {
    const ct = up.headers['content-type'];
    const cl = up.headers['content-length'];
    this.commitHead(t, status, ct, cl);
    this.dataListener = this.guarded(this.onData);
    up.on('data', this.dataListener);
    up.on('end', this.guarded(this.onEnd));
    up.on('close', this.guarded(this.onUpClose));
    up.on('error', noop);
    this.upReq?.on('error', noop);
  }

  /** Sends the response head for a tier's answer and sets up relaying and the idle deadline. */
  private commitHead(t: TierRuntime, status: number, ct: string | undefined, cl: string | undefined): void {
    this.status = status;
    const ok = status < 300;
    t.breaker.success();
    const headers: string[] = [];
    if (ct) headers.push('content-type', ct);
    const sse = typeof ct === 'string' && ct.startsWith('text/event-stream');
    if (sse) headers.push('cache-control', 'no-cache');
    else if (cl) headers.push('content-length', cl);
    const failover = t.index !== this.r.decision.tier;
    if (failover) {
      const from = this.env.tiers[this.r.decision.tier].cfg.name;
      for (let i = 0; i < this.routeHeaders.length; i += 2) {
        const k = this.routeHeaders[i];
        if (k === 'x-route-tier') headers.push(k, t.cfg.name);
        else if (k === 'x-route-reason') headers.push(k, `fallback:failover-from-${from}`);
        else headers.push(k, this.routeHeaders[i + 1]);
      }
    } else {
      for (let i = 0; i < this.routeHeaders.length; i++) headers.push(this.routeHeaders[i]);
    }
    this.res.writeHead(status, headers);
    if (ok) t.metrics.routed.inc();
    if (ok && sse) this.relay = new SseRelay(!this.r.clientWantsUsage);
    else if (ok) this.jsonTail = [];
    this.idle = setTimeout(this.guarded(this.onIdle), this.env.dispatch.idleTimeoutMs);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.ended) return;
    this.idle?.refresh();
    if (this.ttftMs === undefined) {
      this.ttftMs = this.env.now() - this.r.startedAt;
      if (this.status < 300) this.pendingTier?.metrics.ttft.record(this.ttftMs);
    }
    let out: Buffer | undefined = chunk;
    if (this.relay) out = this.relay.push(chunk);
    else if (this.jsonTail) {
      this.jsonTail.push(chunk);
      this.jsonBytes += chunk.length;
      while (this.jsonTail.length > 1 && this.jsonBytes - this.jsonTail[0].length >= 4096) this.jsonBytes -= this.jsonTail.shift()!.length;
    }
    if (!out || out.length === 0) return;
    // Forwarded before this tick ends (no waiting): what one read delivered goes out in one write,
    // and when that read also ended the answer, together with the end of the response.
    if (this.out === undefined) this.out = out;
    else this.out = Buffer.concat([this.out, out]);
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(flushTick, this);
    }
  };

  /** Writes what this tick read; a complete answer is ended in the same write. */
  flushOut(): void {
    this.flushQueued = false;
    const b = this.out;
    if (b === undefined || this.ended) return;
    const up = this.upRes;
    if (up && up.complete && up.readableLength === 0 && !this.paused) {
      this.onEnd();
      return;
    }
    this.out = undefined;
    this.send(b);
  }

  /** One write per flush: straight to the client socket once the headers are out, else through the response. */
  private send(b: Buffer): void {
    const res = this.res;
    const sock = res.socket;
    let ok: boolean;
    let from: NodeJS.EventEmitter;
    if (this.direct && sock !== null && sock.writable) {
      ok = sock.write(chunkFrame(b));
      from = sock;
    } else {
      // The response may hold on to what it is given (the head goes out on the next tick), and a
      // streamed read is a view of a buffer the next read overwrites: it gets a copy.
      ok = res.write(this.upRaw ? Buffer.from(b) : b);
      from = res;
      // The first write sent the headers (a response queued behind a pipelined one has no socket
      // yet; when it gets one, its buffered output is flushed first). Chunked bodies only: the
      // direct path frames each chunk itself.
      this.direct = res.chunkedEncoding && res.socket !== null && res.headersSent;
    }
    if (!ok) {
      this.paused = true;
      this.upRes?.pause();
      this.upRaw?.pause();
      from.once('drain', this.onDrain);
    }
  }

  private readonly onDrain = (): void => {
    this.paused = false;
    this.idle?.refresh();
    if (!this.ended) {
      this.upRes?.resume();
      this.upRaw?.resume();
    }
  };

  private readonly onEnd = (): void => {
    if (this.ended) return;
    let last = this.out;
    this.out = undefined;
    if (this.relay) {
      const rest = this.relay.end();
      if (rest) last = last ? Buffer.concat([last, rest]) : rest;
      this.usage = this.relay.usage;
    } else if (this.jsonTail) {
      this.usage = usageFromJson(Buffer.concat(this.jsonTail).toString('utf8'));
    }
    // The last bytes and the end of the chunked body leave in one write.
    if (last) this.res.end(last);
    else this.res.end();
    this.pendingTier?.breaker.success();
    this.finish(this.status < 300 ? 'ok' : 'passthrough');
  };

  private readonly onUpClose = (): void => {
    if (this.ended || this.upRes?.complete) return;
    this.midStreamFailure('The model tier closed the connection mid-answer.', 'upstream_reset');
  };

  private readonly onIdle = (): void => {
    if (this.ended) return;
    if (this.paused) {
      this.idle?.refresh();
      return;
    }
    this.midStreamFailure('The model tier stopped sending tokens.', 'upstream_idle_timeout');
  };

  private midStreamFailure(message: string, code: string): void {
    const t = this.pendingTier;
    this.lastFailure = code;
    this.ended = true;
    this.abortUpstream();
    if (t) {
      t.metrics.upstreamErrors.inc();
      t.breaker.failure(this.env.now());
    }
    const held = this.out;
    this.out = undefined;
    if (held) this.res.write(held);
    if (this.relay) {
      this.usage = this.relay.usage;
      this.relay.discard();
      if (!this.relay.atBoundary) this.res.write(NEWLINES);
      this.res.end(sseErrorFrame(message, code));
    } else {
      this.res.destroy();
    }
    this.finish('upstream-failed');
  }

  /** `clientLeft`: the tier did nothing wrong, so a streamed attempt's pooled connection is replaced. */
  private abortUpstream(clientLeft = false): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
    const up = this.upReq;
    if (up && !up.destroyed) up.destroy();
    const res = this.upRes;
    if (res && !res.destroyed) res.destroy();
    const raw = this.upRaw;
    if (raw && !raw.complete) raw.destroy(clientLeft ? 'client-left' : 'fault');
  }

  private releasePending(): void {
    const t = this.pendingTier;
    if (t) {
      t.metrics.pending--;
      this.pendingTier = undefined;
    }
  }

  private finish(outcome: ExchangeOutcome): void {
    if (this.outcome !== undefined) return;
    this.ended = true;
    this.outcome = outcome;
    if (this.idle) clearTimeout(this.idle);
    if (this.deadline) clearTimeout(this.deadline);
    const t = this.pendingTier;
    if (t) {
      if (this.usage) t.metrics.usage(this.usage.promptTokens, this.usage.completionTokens);
      if (outcome === 'ok') t.metrics.e2e.record(this.env.now() - this.r.startedAt);
    }
    this.releasePending();
    if (this.dataListener) this.upRes?.off('data', this.dataListener);
    this.env.onDone(this);
  }
}

/** The decided tier first, then larger tiers (pay more rather than fail), then smaller ones. */
export function failoverOrder(decided: number, count: number): number[] {
  const out = [decided];
  for (let i = decided + 1; i < count; i++) out.push(i);
  for (let i = decided - 1; i >= 0; i--) out.push(i);
  return out;
}

/** `Retry-After` in ms (seconds or an HTTP date), or undefined. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

function serialize(r: RoutedRequest, model: string): Buffer {
  const body: Record<string, unknown> = { ...r.body, model };
  if (r.stream) {
    const so = r.body.stream_options;
    body.stream_options = { ...(so && typeof so === 'object' ? (so as object) : {}), include_usage: true };
  }
  return Buffer.from(JSON.stringify(body));
}

/** Inserts `"stream_options":{"include_usage":true}` before the body's closing brace, or undefined. */
export function spliceIncludeUsage(raw: Buffer): Buffer | undefined {
  let i = raw.length - 1;
  while (i >= 0 && (raw[i] === 0x20 || raw[i] === 0x0a || raw[i] === 0x0d || raw[i] === 0x09)) i--;
  if (i < 1 || raw[i] !== 0x7d) return undefined;
  let j = i - 1;
  while (j >= 0 && (raw[j] === 0x20 || raw[j] === 0x0a || raw[j] === 0x0d || raw[j] === 0x09)) j--;
  if (j < 0 || raw[j] === 0x7b) return undefined;
  return Buffer.concat([raw.subarray(0, i), INCLUDE_USAGE, raw.subarray(i)]);
}

function describe(a: Attempt): string {
  switch (a.kind) {
    case 'status':
      return `status ${a.status}`;
    case 'connect':
      return `connect ${a.code}`;
    case 'deadline':
      return 'first-token deadline';
    default:
      return a.kind;
  }
}

function noop(): void {}

function flushTick(ex: Exchange): void {
  ex.flushOut();
}

const HEX = Buffer.from('0123456789abcdef');

/** One chunk of a chunked HTTP/1.1 body: size in hex, CRLF, the bytes, CRLF; one buffer, one write. */
export function chunkFrame(data: Buffer): Buffer {
  const n = data.length;
  let digits = 1;
  while (n >>> (4 * digits) !== 0 && digits < 8) digits++;
  const out = Buffer.allocUnsafe(digits + n + 4);
  for (let i = digits - 1, v = n; i >= 0; i--, v >>>= 4) out[i] = HEX[v & 15];
  out[digits] = 13;
  out[digits + 1] = 10;
  data.copy(out, digits + 2);
  out[digits + n + 2] = 13;
  out[digits + n + 3] = 10;
  return out;
}
