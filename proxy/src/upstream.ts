/**
 * Keep-alive HTTP client for one upstream server (a tier, the embedding server or the scorer).
 * Plain `node:http` with a pooled Agent: Node 20's global fetch costs 1.4-3x the CPU and merges SSE
 * chunks (facts.md, "Toolchain").
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { unwanted } from './abort-reasons';
import { SocketPool, StreamRequest, requestBytes, type StreamHandlers } from './rawhttp';
import { DEFAULT_UPSTREAM_KEEP_ALIVE_MS } from './config';

/** Failure of a JSON call; `why` is `timeout`, `error` (network or status) or `garbage` (bad body). */
export class UpstreamCallError extends Error {
  constructor(readonly why: 'error' | 'garbage', message: string, readonly status?: number) {
    super(message);
  }
}

/** The rejection of every aborted call: one instance, as an abort is routine (the fast path). */
export const ABORTED = new UpstreamCallError('error', 'aborted');

/** Result of a `/health` probe. */
export interface HealthResult {
  readonly reachable: boolean;
  readonly status?: number;
  readonly error?: string;
}



/** Pooled connections and request helpers for one server root. */
export class Upstream {
  readonly hostname: string;
  readonly port: number;
  readonly basePath: string;
  readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  /** Connections for streamed answers (plain HTTP only); see `rawhttp.ts`. */
  private readonly streamPool: SocketPool | undefined;
  private readonly hostHeader: string;

  /** `keepAliveMs`: how long a pooled connection may sit idle; below the server's own keep-alive timeout. */
  constructor(readonly baseUrl: string, maxSockets: number, keepAliveMs = DEFAULT_UPSTREAM_KEEP_ALIVE_MS) {
    const u = new URL(baseUrl);
    this.mod = u.protocol === 'https:' ? https : http;
    this.hostname = u.hostname.replace(/^\[|\]$/g, '');
    this.port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    this.basePath = u.pathname.replace(/\/+$/, '');
    const opts = { keepAlive: true, maxSockets, maxFreeSockets: Math.min(maxSockets, 256), scheduling: 'lifo' as const, timeout: keepAliveMs, noDelay: true };
    this.agent = u.protocol === 'https:' ? new PooledHttpsAgent(opts) : new PooledHttpAgent(opts);
    this.hostHeader = u.host;
    this.streamPool = u.protocol === 'http:' ? new SocketPool(this.hostname, this.port, maxSockets, keepAliveMs) : undefined;
  }

  /** Whether {@link stream} is available (plain HTTP). */
  get streams(): boolean {
    return this.streamPool !== undefined;
  }

  /**
   * POSTs a JSON body for a streamed answer on the lightweight client. `headers` are name/value
   * pairs (no Host or Content-Length); only for {@link streams} upstreams.
   */
  stream(path: string, headers: readonly string[], payload: Buffer, h: StreamHandlers): StreamRequest {
    return new StreamRequest(this.streamPool!, requestBytes(this.basePath + path, this.hostHeader, headers, payload), h);
  }

  /** POSTs JSON text (already serialized) and parses the JSON answer; see {@link postJson}. */
  postJsonText(path: string, json: string, signal?: AbortSignal, requestId?: string): Promise<unknown> {
    return this.post(path, Buffer.from(json), signal, requestId);
  }

  /** Starts a request; the caller writes the body and handles events. */
  request(method: string, path: string, headers: http.OutgoingHttpHeaders | readonly string[]): http.ClientRequest {
    return this.mod.request({
      method,
      hostname: this.hostname,
      port: this.port,
      path: this.basePath + path,
      agent: this.agent,
      headers: headers as http.OutgoingHttpHeaders,
    });
  }

  /** POSTs JSON and parses the JSON answer; rejects with {@link UpstreamCallError} or on abort. */
  postJson(path: string, body: unknown, signal?: AbortSignal, requestId?: string): Promise<unknown> {
    return this.post(path, Buffer.from(JSON.stringify(body)), signal, requestId);
  }

  private post(path: string, payload: Buffer, signal?: AbortSignal, requestId?: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(ABORTED);
        return;
      }
      let done = false;
      let cancel: (unwanted: boolean) => void = noop;
      const onAbort = () => {
        if (done) return;
        cancel(unwanted(signal?.reason));
        finish(ABORTED);
      };
      const finish: Settle = (err, value) => {
        if (done) return;
        done = true;
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(value);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      cancel = this.streamPool ? this.sendRaw(this.streamPool, path, payload, requestId, finish) : this.sendHttp(path, payload, requestId, finish);
    });
  }

  /** {@link post} on `node:http` (HTTPS upstreams); returns how to cancel it. */
  private sendHttp(path: string, payload: Buffer, requestId: string | undefined, finish: Settle): (unwanted: boolean) => void {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': payload.length, accept: 'application/json' };
    if (requestId) headers['x-request-id'] = requestId;
    const req = this.request('POST', path, headers);
    req.on('error', (e) => finish(new UpstreamCallError('error', e.message)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => finish(new UpstreamCallError('error', e.message)));
      res.on('close', () => {
        if (!res.complete) finish(new UpstreamCallError('error', 'connection closed mid-answer'));
      });
      res.on('end', () => settleJson(res.statusCode ?? 0, () => (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8'), finish));
    });
    req.end(payload);
    return () => req.destroy();
  }

  /**
   * {@link post} on the lightweight client (plain HTTP): a scored request makes two of these calls,
   * and `node:http`'s request and response objects cost more than the small answers they carry.
   * Returns how to cancel it.
   */
  private sendRaw(pool: SocketPool, path: string, payload: Buffer, requestId: string | undefined, finish: Settle): (unwanted: boolean) => void {
    const headers = ['Content-Type', 'application/json', 'Accept', 'application/json'];
    if (requestId) headers.push('X-Request-Id', requestId);
    let status = 0;
    // Body bytes are views of the shared read buffer: kept ones are copied.
    let parts: Buffer[] | undefined;
    const up = new StreamRequest(pool, requestBytes(this.basePath + path, this.hostHeader, headers, payload), {
      onHead: (h) => {
        status = h.status;
      },
      onBody: (data, complete) => {
        if (!complete) {
          if (data && data.length > 0) (parts ??= []).push(Buffer.from(data));
          return;
        }
        // Read inside this call, while the last bytes are still in the read buffer.
        const text = (): string => {
          if (parts === undefined) return data ? data.toString('utf8') : '';
          if (data) parts.push(data);
          return Buffer.concat(parts).toString('utf8');
        };
        settleJson(status, text, finish);
      },
      onFail: (_code, message) => finish(new UpstreamCallError('error', message)),
    });
    // An unwanted call's connection is not replaced once it carried the request: the fast path
    // aborts scorer calls on a large share of requests, and the pool usually has an idle one.
    return (u) => up.destroy(u ? 'unwanted' : 'fault');
  }

  /** GETs `/health` within a deadline. */
  health(timeoutMs: number): Promise<HealthResult> {
    return new Promise((resolve) => {
      const req = this.request('GET', '/health', {});
      let done = false;
      const finish = (r: HealthResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        finish({ reachable: false, error: 'timeout' });
        req.destroy();
      }, timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => finish({ reachable: false, error: e.code ?? e.message }));
      req.on('response', (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        finish(status >= 200 && status < 300 ? { reachable: true, status } : { reachable: false, status, error: `status ${status}` });
      });
      req.end();
    });
  }

  /** Closes pooled sockets. */
  destroy(): void {
    this.agent.destroy();
    this.streamPool?.destroy();
  }
}

/** Ends a JSON call once: with an error, or with the parsed answer. */
type Settle = (err: Error | undefined, value?: unknown) => void;

function noop(): void {}

/** Ends a JSON call on its complete answer: the parsed body of a 2xx, else a typed error. */
function settleJson(status: number, text: () => string, finish: Settle): void {
  if (status < 200 || status >= 300) {
    finish(new UpstreamCallError('error', `status ${status}`, status));
    return;
  }
  try {
    finish(undefined, JSON.parse(text()));
  } catch {
    finish(new UpstreamCallError('garbage', 'answer is not JSON', status));
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
