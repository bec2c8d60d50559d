/**
 * Relaying one committed answer to the client: the response head, then every upstream read in one
 * write (chunk-framed straight onto the client socket once the head is out), back-pressure from a
 * slow client to the upstream connection, token usage read on the way (SSE frames, or the tail of a
 * JSON answer), the deadlines, and the end. A stream that breaks after its head went out ends with
 * an SSE error event and no `[DONE]`; any other answer is cut.
 *
 * Deadlines: a streamed answer first waits for its first byte (vLLM queues a request after sending
 * its headers) until the first-token deadline, with `: waiting for the model` comment lines at the
 * keep-alive interval so that clients and load balancers keep the connection; from its first byte
 * on, the idle deadline bounds each silence between reads.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { errorBody, sseErrorFrame } from '../errors';
import { SseRelay, usageFromJson, type Usage } from '../sse';
import type { AnswerCapture } from '../shadow/capture';
import type { ResponseHead, UpstreamCall } from '../transport/types';

/** What the relay tells the exchange that owns it. */
export interface RelayOwner {
  /** The first body bytes of the answer are about to go out. */
  relayFirstByte(): void;
  /** The answer went out whole and the response ended. */
  relayEnded(): void;
  /** The answer broke after its head went out (`code`: why); the response is already ended. */
  relayBroke(code: string): void;
  /** An error inside the proxy in one of the relay's callbacks; false when the owner had already ended. */
  internalFailure(err: unknown): boolean;
}

/** A streamed answer's wait for its first byte. */
export interface FirstByteWait {
  /** Time left until the first-token deadline, ms (it counts from when the request went to the tier). */
  readonly withinMs: number;
  /** Interval of the keep-alive comment lines (SSE answers only), ms. */
  readonly keepAliveMs: number;
}

const NEWLINES = Buffer.from('\n\n');
/** The keep-alive comment line of a stream waiting for its first token (clients ignore comments). */
const WAITING = Buffer.from(': waiting for the model\n\n');
/** Bytes of a JSON answer's end kept to read its usage from. */
const JSON_TAIL_BYTES = 4096;

/** One answer on its way to the client. */
export class Relay {
  /** Token usage read from the answer, once known. */
  usage: Usage | undefined;
  /** A sampled request's answer is read here too, as it passes (it changes nothing that is sent). */
  capture: AnswerCapture | undefined;
  private sse: SseRelay | undefined;
  private tail: Buffer[] | undefined;
  private tailBytes = 0;
  /** A held stream's head is out and the tier answered this non-stream status: it becomes an SSE error event. */
  private wrapped = 0;
  private source: UpstreamCall | undefined;
  /**
   * The idle deadline (a read notes its time in `lastByteAt` and the timer, when it fires, re-arms
   * for what is left); while the answer waits for its first byte, the next keep-alive comment line
   * or the first-token deadline, whichever comes first.
   */
  private idle: NodeJS.Timeout | undefined;
  /** When the last body bytes came or the client last drained (`performance.now()` clock). */
  private lastByteAt = 0;
  /** The answer waits for its first byte (under the first-token deadline). */
  private waiting = false;
  /** When the first-token deadline passes (`performance.now()` clock). */
  private firstTokenBy = 0;
  /** Interval of the keep-alive comment lines while waiting; none for an answer that is not SSE. */
  private keepAliveMs = Infinity;
  /** The client socket carries this response and its head is out: chunks go straight to it. */
  private direct = false;
  /** This relay set the response head and nothing has been written yet. */
  private headHeld = false;
  private paused = false;
  private ended = false;
  private first = true;

  constructor(
    private readonly res: ServerResponse,
    private readonly owner: RelayOwner,
    private readonly idleTimeoutMs: number,
  ) {}

  /**
   * Sends the head of a tier's answer (`status`, its content type and length, then `extraHeaders`)
   * and relays `source`'s body from now on. `stripUsage`: drop the usage-only SSE chunk the proxy
   * asked for and the client did not. `headSent`: a held stream's `200` event-stream head is already
   * out; a stream is relayed under it, any other answer (a 4xx's JSON) becomes an SSE error event.
   * `wait`: the answer to a streamed request waits for its first byte under the first-token
   * deadline; without it the idle deadline runs from the head.
   */
  start(source: UpstreamCall, status: number, head: ResponseHead, extraHeaders: readonly string[], stripUsage: boolean, headSent = false, wait?: FirstByteWait): void {
    this.source = source;
    const ct = head.headers['content-type'];
    const sse = ct !== undefined && ct.startsWith('text/event-stream');
    if (headSent) {
      if (status < 300 && sse) this.sse = new SseRelay(stripUsage);
      else {
        this.wrapped = status;
        this.tail = [];
      }
    } else {
      const cl = head.headers['content-length'];
      const headers: string[] = [];
      if (ct) headers.push('content-type', ct);
      if (sse) headers.push('cache-control', 'no-cache');
      else if (cl) headers.push('content-length', cl);
      for (let i = 0; i < extraHeaders.length; i++) headers.push(extraHeaders[i]);
      this.res.writeHead(status, headers);
      this.headHeld = true;
      if (status < 300 && sse) this.sse = new SseRelay(stripUsage);
      else if (status < 300) this.tail = [];
    }
    this.capture?.begin(sse);
    if (wait === undefined) {
      this.lastByteAt = performance.now();
      this.idle = setTimeout(onIdle, this.idleTimeoutMs, this);
      return;
    }
    this.waiting = true;
    this.firstTokenBy = performance.now() + wait.withinMs;
    if (this.sse) this.keepAliveMs = wait.keepAliveMs;
    this.idle = setTimeout(onIdle, Math.min(wait.withinMs, this.keepAliveMs), this);
  }

  /**
   * Body bytes of one upstream read; `complete` when the body ended. `chunk` may be a view of a
   * shared read buffer: whatever outlives this call is copied (a chunk written straight to the
   * client socket is copied by its framing).
   */
  body(chunk: Buffer | undefined, complete: boolean): void {
    if (this.ended) return;
    let out: Buffer | undefined;
    if (chunk !== undefined && chunk.length > 0) {
      this.lastByteAt = performance.now();
      if (this.first) {
        this.first = false;
        if (this.waiting) this.firstByteCame();
        this.owner.relayFirstByte();
      }
      out = chunk;
      // Before the SSE relay, which may keep a frame's tail: the capture reads every upstream byte.
      if (this.capture !== undefined) this.capture.push(chunk);
      if (this.sse) out = this.sse.push(chunk);
      else if (this.tail) {
        this.keepTail(chunk);
        if (this.wrapped) out = undefined;
      }
    }
    if (complete) this.end(out);
    else if (out !== undefined && out.length > 0) this.send(out);
  }

  /** The answer broke (upstream reset, idle deadline): an SSE error event ends a stream, anything else is cut. */
  fail(message: string, code: string): void {
    if (this.cut(message, code)) this.owner.relayBroke(code);
  }

  /** Ends the response as {@link fail} does, without telling the owner (it ends the exchange itself). */
  abort(message: string, code: string): void {
    this.cut(message, code);
  }

  /** Ends the response after a break; false when it had already ended. */
  private cut(message: string, code: string): boolean {
    if (this.ended) return false;
    this.stop();
    const sse = this.sse;
    if (sse) {
      this.usage = sse.usage;
      sse.discard();
      if (!sse.atBoundary) this.res.write(NEWLINES);
      this.res.end(sseErrorFrame(message, code));
    } else {
      this.res.destroy();
    }
    return true;
  }

  /** Stops relaying without touching the response (the client left). */
  stop(): void {
    this.ended = true;
    if (this.idle) clearTimeout(this.idle);
  }

  /** Idle deadline (or a tick of the first-byte wait): a slow client (paused upstream) is not the tier's fault. */
  onIdle(): void {
    if (this.ended) return;
    if (this.waiting) return this.waitTick();
    if (this.paused) {
      this.idle!.refresh();
      return;
    }
    // Timers run on a millisecond clock: under a millisecond left is the deadline.
    const left = this.lastByteAt + this.idleTimeoutMs - performance.now();
    if (left >= 1) {
      this.idle = setTimeout(onIdle, left, this);
      return;
    }
    this.fail('The model tier stopped sending tokens.', 'upstream_idle_timeout');
  }

  /** While the answer waits for its first byte: a keep-alive comment line, or the first-token deadline. */
  private waitTick(): void {
    const left = this.firstTokenBy - performance.now();
    // Timers run on a millisecond clock: under a millisecond left is the deadline.
    if (left < 1 && !this.paused) {
      this.fail('The model tier sent no token within the first-token deadline.', 'upstream_first_token_timeout');
      return;
    }
    if (this.sse && !this.paused) this.send(WAITING);
    this.idle = setTimeout(onIdle, this.paused ? Math.min(this.keepAliveMs, this.idleTimeoutMs) : Math.min(left, this.keepAliveMs), this);
  }

  /** The wait is over: the idle deadline runs from here. */
  private firstByteCame(): void {
    this.waiting = false;
    clearTimeout(this.idle);
    this.idle = setTimeout(onIdle, this.idleTimeoutMs, this);
  }

  private keepTail(chunk: Buffer): void {
    const tail = this.tail!;
    tail.push(Buffer.from(chunk));
    this.tailBytes += chunk.length;
    while (tail.length > 1 && this.tailBytes - tail[0].length >= JSON_TAIL_BYTES) this.tailBytes -= tail.shift()!.length;
  }

  /** The last bytes and the end of the response leave in one write. */
  private end(out: Buffer | undefined): void {
    if (this.wrapped) {
      this.stop();
      this.res.end(wrappedError(this.wrapped, Buffer.concat(this.tail!).toString('utf8')));
      this.owner.relayEnded();
      return;
    }
    let last = out !== undefined && out.length > 0 ? out : undefined;
    if (this.sse) {
      const rest = this.sse.end();
      if (rest) last = last ? Buffer.concat([last, rest]) : rest;
      this.usage = this.sse.usage;
    } else if (this.tail) this.usage = usageFromJson(Buffer.concat(this.tail).toString('utf8'));
    this.stop();
    const sock = this.res.socket;
    if (last !== undefined && this.direct && sock !== null && sock.writable) {
      // The last chunk and the body's terminator leave in one write (the cork holds the first).
      sock.cork();
      sock.write(chunkFrame(last));
      this.res.end();
      sock.uncork();
    } else this.res.end(last !== undefined ? Buffer.from(last) : undefined);
    this.owner.relayEnded();
  }

  /** One write per read: straight to the client socket once the head is out, else through the response. */
  private send(b: Buffer): void {
    const res = this.res;
    const sock = res.socket;
    let ok: boolean;
    let from: NodeJS.EventEmitter;
    if (this.direct && sock !== null && sock.writable) {
      ok = sock.write(chunkFrame(b));
      from = sock;
    } else if (this.headHeld && sock !== null && sock.writable && res.chunkedEncoding) {
      // The first bytes: the head this relay set and the first chunk leave in one write.
      this.headHeld = false;
      sock.cork();
      res.flushHeaders();
      ok = sock.write(chunkFrame(b));
      sock.uncork();
      from = sock;
      this.direct = true;
    } else {
      this.headHeld = false;
      // The response may hold on to what it is given (the head goes out on the next tick), and a
      // read may be a view of a buffer the next read overwrites: it gets a copy.
      ok = res.write(Buffer.from(b));
      from = res;
      // The first write sent the head, unless the response waits behind a pipelined one (no socket
      // yet; its output is flushed when it gets one). Chunked bodies only: direct frames each chunk.
      this.direct = res.chunkedEncoding && res.socket !== null && res.headersSent;
    }
    if (!ok) {
      this.paused = true;
      this.source!.pause();
      from.once('drain', this.onDrain);
    }
  }

  private readonly onDrain = (): void => {
    guarded(this, () => {
      this.paused = false;
      this.lastByteAt = performance.now();
      this.idle?.refresh();
      if (!this.ended) this.source!.resume();
    });
  };

  /** The owner of this relay (timer and drain callbacks hand it their errors). */
  get ownedBy(): RelayOwner {
    return this.owner;
  }
}

/** The SSE error event of a non-stream answer (a vLLM error's JSON) given to a held stream. */
function wrappedError(status: number, text: string): Buffer {
  let message = `The model tier answered ${status}.`;
  try {
    const v = JSON.parse(text) as { message?: unknown; error?: { message?: unknown } };
    const m = typeof v.message === 'string' ? v.message : v.error?.message;
    if (typeof m === 'string' && m !== '') message = m;
  } catch {
    // Not JSON: the status says enough.
  }
  const type = status < 500 ? 'invalid_request_error' : 'server_error';
  return Buffer.from(`data: ${errorBody({ message, type, param: null, code: `upstream_${status}` })}\n\n`);
}

/** Runs a callback of relay `r`; an error inside it ends the relay's exchange alone. */
function guarded(r: Relay, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!r.ownedBy.internalFailure(err)) throw err;
  }
}

function onIdle(r: Relay): void {
  guarded(r, () => r.onIdle());
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
