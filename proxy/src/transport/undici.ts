/**
 * {@link Transport} on undici's `Pool`, driven through `dispatch()` with a handler object: the layer
 * under undici's `stream()` and `request()`, without their per-request Writable or Readable, so the
 * cheapest way undici can relay a stream read by read.
 */
import { Pool } from 'undici';
import type Dispatcher from 'undici/types/dispatcher';
import type { GiveUpReason, ResponseHandlers, Transport, UpstreamCall } from './types';

/** POSTs to one server root through a keep-alive undici `Pool`. */
export class UndiciTransport implements Transport {
  private readonly pool: Pool;

  /** `origin`: `http(s)://host:port`; `basePath`: the server root's path. */
  constructor(origin: string, private readonly basePath: string, maxSockets: number, idleMs: number) {
    this.pool = new Pool(origin, {
      connections: maxSockets,
      pipelining: 1,
      keepAliveTimeout: idleMs,
      keepAliveMaxTimeout: idleMs,
      // The proxy keeps its own deadlines (answer head, first token, idle stream).
      headersTimeout: 0,
      bodyTimeout: 0,
      // undici sets TCP_NODELAY on every connection itself.
    });
  }

  post(path: string, headers: readonly string[], payload: Buffer, h: ResponseHandlers): UpstreamCall {
    const call = new UndiciCall(h);
    this.pool.dispatch({ method: 'POST', path: this.basePath + path, headers: headers as string[], body: payload }, call);
    return call;
  }

  destroy(): void {
    void this.pool.close().catch(() => undefined);
  }
}

/** One POST on the pool, reported through {@link ResponseHandlers}. */
class UndiciCall implements UpstreamCall, Dispatcher.DispatchHandlers {
  complete = false;
  private destroyed = false;
  private paused = false;
  private abort: ((err?: Error) => void) | undefined;
  private resumeRead: (() => void) | undefined;

  constructor(private readonly h: ResponseHandlers) {}

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeRead?.();
  }

  destroy(_why?: GiveUpReason): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.abort?.(GIVEN_UP);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.destroyed) abort(GIVEN_UP);
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (this.destroyed || status < 200) return true;
    this.resumeRead = resume;
    const headers: Record<string, string> = {};
    let keepAlive = true;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i].toString('latin1').toLowerCase();
      const v = raw[i + 1].toString('latin1');
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
      if (k === 'connection' && v.toLowerCase().includes('close')) keepAlive = false;
    }
    this.guard(() => this.h.onHead({ status, headers, keepAlive }));
    return !this.paused;
  }

  onData(chunk: Buffer): boolean {
    if (this.destroyed) return true;
    this.guard(() => this.h.onBody(chunk, false));
    return !this.paused;
  }

  onComplete(): void {
    if (this.destroyed) return;
    this.complete = true;
    this.guard(() => this.h.onBody(undefined, true));
  }

  onError(err: Error): void {
    if (this.destroyed || this.complete) return;
    this.destroyed = true;
    const e = err as NodeJS.ErrnoException;
    this.h.onFail(e.code ?? 'ERROR', e.message);
  }

  /** Runs a handler; when it throws, the call is given up and the error handed to `onInternalError`. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (!this.h.onInternalError) throw err;
      this.destroy('fault');
      this.h.onInternalError(err);
    }
  }
}

const GIVEN_UP = Object.assign(new Error('request given up'), { code: 'UND_ERR_ABORTED' });
