/**
 * {@link Transport} on `node:http(s)` with a pooled keep-alive Agent: the client of `https://`
 * upstreams (the lightweight client speaks plain HTTP only), and of `/health` probes.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { ResponseHandlers, Transport, UpstreamCall } from './types';

/** Where requests go. */
export interface NodeHttpTarget {
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port: number;
  /** Path of the server root, without a trailing slash. */
  readonly basePath: string;
}

/** POSTs through `node:http(s)`. */
export class NodeHttpTransport implements Transport {
  readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;

  constructor(private readonly target: NodeHttpTarget, maxSockets: number, keepAliveMs: number) {
    const opts = { keepAlive: true, maxSockets, maxFreeSockets: Math.min(maxSockets, 256), scheduling: 'lifo' as const, timeout: keepAliveMs, noDelay: true };
    const https_ = target.protocol === 'https:';
    this.mod = https_ ? https : http;
    this.agent = https_ ? new PooledHttpsAgent(opts) : new PooledHttpAgent(opts);
  }

  /** Starts a request; the caller writes the body and handles its events. */
  request(method: string, path: string, headers: http.OutgoingHttpHeaders): http.ClientRequest {
    const t = this.target;
    return this.mod.request({ method, hostname: t.hostname, port: t.port, path: t.basePath + path, agent: this.agent, headers });
  }

  post(path: string, headers: readonly string[], payload: Buffer, h: ResponseHandlers): UpstreamCall {
    const out: http.OutgoingHttpHeaders = { 'content-length': payload.length };
    for (let i = 0; i < headers.length; i += 2) out[headers[i].toLowerCase()] = headers[i + 1];
    return new NodeHttpCall(this.request('POST', path, out), payload, h);
  }

  destroy(): void {
    this.agent.destroy();
  }
}

/** One POST on `node:http`, reported through {@link ResponseHandlers}. */
class NodeHttpCall implements UpstreamCall {
  complete = false;
  private destroyed = false;
  private res: http.IncomingMessage | undefined;

  constructor(private readonly req: http.ClientRequest, payload: Buffer, private readonly h: ResponseHandlers) {
    req.on('error', (e: NodeJS.ErrnoException) => this.fail(e.code ?? 'ERROR', e.message));
    req.on('response', (res) => this.onResponse(res));
    req.end(payload);
  }

  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.req.destroy();
    this.res?.destroy();
  }

  private onResponse(res: http.IncomingMessage): void {
    if (this.destroyed) {
      res.resume();
      return;
    }
    this.res = res;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    if (!this.guard(() => this.h.onHead({ status: res.statusCode ?? 502, headers, keepAlive: !res.headers.connection?.toLowerCase().includes('close') }))) return;
    if (this.destroyed) {
      res.resume();
      return;
    }
    res.on('data', (c: Buffer) => {
      if (!this.destroyed) this.guard(() => this.h.onBody(c, false));
    });
    res.on('end', () => {
      if (this.destroyed) return;
      this.complete = true;
      this.guard(() => this.h.onBody(undefined, true));
    });
    res.on('error', () => undefined);
    res.on('close', () => {
      if (!res.complete) this.fail('ECONNRESET', 'connection closed mid-answer');
    });
  }

  /**
   * Runs a handler; when it throws, the request is destroyed and the error handed to
   * `onInternalError` (or thrown on without one). False when it threw.
   */
  private guard(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      if (!this.h.onInternalError) throw err;
      this.destroy();
      this.h.onInternalError(err);
      return false;
    }
  }

  private fail(code: string, message: string): void {
    if (this.destroyed || this.complete) return;
    this.destroyed = true;
    this.req.destroy();
    this.h.onFail(code, message);
  }
}

/*
 * The pool's socket timeout only matters while a socket waits in the pool: a socket serving a request
 * has its own deadlines (first token, idle, scoring timeouts). Switching it off while in use spares a
 * timer refresh on every read and write of a stream.
 */
class PooledHttpAgent extends http.Agent {
  override createConnection(options: net.NetConnectOpts, cb?: (err: Error | null, s: net.Socket) => void): net.Socket {
    return net.createConnection({ ...options, timeout: undefined }, cb as () => void);
  }
  override reuseSocket(socket: net.Socket, req: http.ClientRequest): void {
    socket.setTimeout(0);
    super.reuseSocket(socket, req);
  }
}

class PooledHttpsAgent extends https.Agent {
  override reuseSocket(socket: net.Socket, req: http.ClientRequest): void {
    socket.setTimeout(0);
    super.reuseSocket(socket, req);
  }
}
