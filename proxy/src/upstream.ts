/**
 * Keep-alive HTTP client for one upstream server (a tier, the embedding server or the scorer): the
 * lightweight client for `http://` roots, `node:http(s)` for `https://` ones, behind one
 * {@link Transport}. Node 20's global fetch costs 1.4-3x the CPU and merges SSE chunks (facts.md,
 * "Toolchain").
 */
import { unwanted } from './abort-reasons';
import { DEFAULT_UPSTREAM_KEEP_ALIVE_MS } from './config';
import { NodeHttpTransport, type NodeHttpTarget } from './transport/node-http';
import { RawTransport } from './transport/rawhttp';
import type { ResponseHandlers, Transport, UpstreamCall } from './transport/types';

/** Failure of a JSON call; `why` is `error` (network or status) or `garbage` (bad body). */
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
  /** Every POST: the lightweight client for plain HTTP, else `node:https`. */
  private readonly transport: Transport;
  /** `/health` probes (and POSTs to `https://` roots). */
  private readonly http: NodeHttpTransport;

  /** `keepAliveMs`: how long a pooled connection may sit idle; below the server's own keep-alive timeout. */
  constructor(readonly baseUrl: string, maxSockets: number, keepAliveMs = DEFAULT_UPSTREAM_KEEP_ALIVE_MS) {
    const u = new URL(baseUrl);
    const hostname = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    const basePath = u.pathname.replace(/\/+$/, '');
    const target: NodeHttpTarget = { protocol: u.protocol === 'https:' ? 'https:' : 'http:', hostname, port, basePath };
    this.http = new NodeHttpTransport(target, maxSockets, keepAliveMs);
    this.transport = u.protocol === 'http:' ? new RawTransport(hostname, port, u.host, basePath, maxSockets, keepAliveMs) : this.http;
  }

  /**
   * POSTs a JSON body and reports the answer read by read (streamed or not). `headers` are
   * name/value pairs (no Host or Content-Length).
   */
  stream(path: string, headers: readonly string[], payload: Buffer, h: ResponseHandlers): UpstreamCall {
    return this.transport.post(path, headers, payload, h);
  }

  /** POSTs JSON text (already serialized) and parses the JSON answer; see {@link postJson}. */
  postJsonText(path: string, json: string, signal?: AbortSignal, requestId?: string): Promise<unknown> {
    return this.post(path, Buffer.from(json), signal, requestId);
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
      cancel = this.transport === this.http ? this.sendHttp(path, payload, requestId, finish) : this.sendRaw(path, payload, requestId, finish);
    });
  }

  /** {@link post} on `node:http(s)` (HTTPS upstreams); returns how to cancel it. */
  private sendHttp(path: string, payload: Buffer, requestId: string | undefined, finish: Settle): () => void {
    const call = this.sendJson(this.http, path, payload, requestId, finish);
    return () => call.destroy();
  }

  /**
   * {@link post} on the lightweight client (plain HTTP): a scored request makes two of these calls,
   * and `node:http`'s request and response objects cost more than the small answers they carry.
   * Returns how to cancel it.
   */
  private sendRaw(path: string, payload: Buffer, requestId: string | undefined, finish: Settle): (unwanted: boolean) => void {
    const call = this.sendJson(this.transport, path, payload, requestId, finish);
    // An unwanted call's connection is not replaced once it carried the request: the fast path
    // aborts scorer calls on a large share of requests, and the pool usually has an idle one.
    return (u) => call.destroy(u ? 'unwanted' : 'fault');
  }

  /** One JSON POST on `transport`; settles with the parsed 2xx answer or a typed error. */
  private sendJson(transport: Transport, path: string, payload: Buffer, requestId: string | undefined, finish: Settle): UpstreamCall {
    const headers = ['Content-Type', 'application/json', 'Accept', 'application/json'];
    if (requestId) headers.push('X-Request-Id', requestId);
    let status = 0;
    // Body bytes may be views of a shared read buffer: kept ones are copied.
    let parts: Buffer[] | undefined;
    return transport.post(path, headers, payload, {
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
  }

  /** GETs `/health` within a deadline. */
  health(timeoutMs: number): Promise<HealthResult> {
    return new Promise((resolve) => {
      const req = this.http.request('GET', '/health', {});
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
    this.http.destroy();
    if (this.transport !== this.http) this.transport.destroy();
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
