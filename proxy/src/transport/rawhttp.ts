/**
 * The lightweight HTTP/1.1 client of `http://` upstreams: one POST on a pooled keep-alive
 * `net.Socket`, the response parsed by `http1-parser.ts`. A stream read carries a few hundred bytes
 * every few milliseconds; the general-purpose client (parser callbacks, a Readable per response,
 * request bookkeeping) costs several times what the bytes themselves do, and a scored request's two
 * small JSON calls cost less here too.
 */
import * as net from 'node:net';
import { ResponseParser } from './http1-parser';
import type { GiveUpReason, ResponseHandlers, Transport, UpstreamCall } from './types';

/**
 * Every pooled socket reads into this one buffer (`onread`): no allocation and no stream machinery
 * per read. A read is handed to the socket's reader and must be used up, or copied, before the
 * reader returns; the next read on any socket overwrites it.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** The socket's current reader: the request using it, or the pool's idle check. */
const READER = Symbol('reader');

type PooledSocket = net.Socket & { [READER]: (this: net.Socket, data: Buffer) => void };

/** Keep-alive sockets to one `host:port`, at most `max` in use; requests over the cap wait. */
export class SocketPool {
  private readonly free: net.Socket[] = [];
  private inUse = 0;
  private readonly waiters: Array<(s: net.Socket, reused: boolean) => void> = [];
  private closed = false;

  constructor(private readonly host: string, private readonly port: number, private readonly max: number, private readonly idleMs: number) {}

  /** Calls `cb` with a socket (reused or connecting); returns a cancel function for a waiting request. */
  acquire(cb: (s: net.Socket, reused: boolean) => void): () => void {
    let s = this.free.pop();
    while (s && (s.destroyed || !s.writable)) {
      this.unpool(s);
      s.destroy();
      s = this.free.pop();
    }
    if (s) {
      this.unpool(s);
      this.inUse++;
      cb(s, true);
      return noop;
    }
    if (this.inUse < this.max) {
      this.inUse++;
      cb(this.connect(), false);
      return noop;
    }
    this.waiters.push(cb);
    return () => {
      const k = this.waiters.indexOf(cb);
      if (k >= 0) this.waiters.splice(k, 1);
    };
  }

  /** A socket whose response ended cleanly goes back to the pool (or to a waiting request). */
  release(s: net.Socket): void {
    const w = this.waiters.shift();
    if (w) {
      w(s, true);
      return;
    }
    this.inUse--;
    if (this.closed || s.destroyed) {
      s.destroy();
      return;
    }
    // The idle timer only: its listener was added once, when the socket was made. (Passing a
    // callback here would add one more 'timeout' listener per request served on the socket.)
    s.setTimeout(this.idleMs);
    (s as PooledSocket)[READER] = onPooledData;
    this.free.push(s);
  }

  /**
   * A socket that will not come back (destroyed by its user). `replace`: it was healthy and given
   * up only because its answer was no longer wanted; a new connection takes its place in the idle
   * list, so the next request does not wait for a TCP handshake. Clients cancel streams routinely,
   * often many at once, and every cancel closes an upstream connection (the way to stop a
   * generation): without this, the next burst of requests opens them all again.
   */
  drop(replace = false): void {
    const w = this.waiters.shift();
    if (w) {
      if (this.closed) return;
      w(this.connect(), false);
      return;
    }
    this.inUse--;
    // In use plus idle stays what it was, so within the cap.
    if (replace && !this.closed) {
      const s = this.connect();
      s.setTimeout(this.idleMs);
      this.free.push(s);
    }
  }

  /** Closes every idle socket; sockets in use close with their responses. */
  destroy(): void {
    this.closed = true;
    for (const s of this.free.splice(0)) s.destroy();
  }

  private connect(): net.Socket {
    const s = net.createConnection({
      host: this.host,
      port: this.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array): boolean => {
          (s as PooledSocket)[READER].call(s, (buf as Buffer).subarray(0, n));
          return true;
        },
      },
    }) as PooledSocket;
    s[READER] = onPooledData;
    // Errors reach the request using the socket through its own listener; none may go unheard.
    s.on('error', noop);
    // Set up once per socket, whatever number of requests it serves: the idle timeout (armed only
    // while the socket waits in the pool) and leaving the pool when the peer closes it.
    s.on('timeout', onPooledTimeout);
    s.on('close', () => {
      const k = this.free.indexOf(s);
      if (k >= 0) this.free.splice(k, 1);
    });
    return s;
  }

  private unpool(s: net.Socket): void {
    s.setTimeout(0);
    (s as PooledSocket)[READER] = onOrphanData;
  }
}

function noop(): void {}

function onPooledTimeout(this: net.Socket): void {
  this.destroy();
}

/** Bytes on an idle connection: nothing was asked, so the connection is not trustworthy. */
function onPooledData(this: net.Socket): void {
  this.destroy();
}

/** Bytes on a socket taken from the pool before its request reads: the same verdict. */
const onOrphanData = onPooledData;

/**
 * One request on a pooled socket. The request goes out in one write; each read is parsed and handed
 * on at once. The socket returns to the pool only when the body ended cleanly on a keep-alive
 * answer; on anything else, and on {@link destroy}, it is closed.
 */
export class StreamRequest implements UpstreamCall {
  /** The request went out on a connection that served earlier requests. */
  reusedSocket = false;
  /** The response body ended cleanly. */
  complete = false;
  destroyed = false;
  private sock: net.Socket | undefined;
  private readonly parser = new ResponseParser();
  private errCode: string | undefined;
  private errMessage: string | undefined;
  private cancelWait: () => void = noop;

  constructor(private readonly pool: SocketPool, private readonly request: Buffer, private readonly h: ResponseHandlers) {
    this.cancelWait = pool.acquire(this.onSocket);
  }

  /** Stops reading (the client is slow); {@link resume} starts again. */
  pause(): void {
    this.sock?.pause();
  }

  resume(): void {
    this.sock?.resume();
  }

  /**
   * Gives the request up; no handler is called afterwards. A connection still connecting carried
   * nothing and is pooled unless `why` is `fault`; a closed one is replaced after `client-left`
   * (see {@link SocketPool.drop}).
   */
  destroy(why: GiveUpReason = 'fault'): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const s = this.sock;
    if (s && s.connecting && why !== 'fault') {
      // Nothing was sent on it yet: the new connection stays in the pool for the next request. (The
      // fast path gives up scorer calls this early on a busy event loop.)
      this.detach(s);
      this.sock = undefined;
      this.pool.release(s);
    } else if (s) {
      this.detach(s);
      s.destroy();
      this.pool.drop(why === 'client-left');
    } else this.cancelWait();
  }

  private readonly onSocket = (s: net.Socket, reused: boolean): void => {
    if (this.destroyed) {
      // The request was given up while waiting for a socket; pass it on.
      this.pool.release(s);
      return;
    }
    this.sock = s;
    this.reusedSocket = reused;
    (s as PooledSocket)[READER] = this.onData;
    s.on('error', this.onError);
    s.on('close', this.onClose);
    // On a new connection the request waits for the connect, so that giving it up before then
    // leaves a connection that carried nothing, and can be pooled.
    if (s.connecting) s.once('connect', this.onConnect);
    else s.write(this.request);
  };

  private readonly onConnect = (): void => {
    this.sock?.write(this.request);
  };

  private readonly onData = (b: Buffer): void => {
    if (this.destroyed) return;
    const p = this.parser;
    const hadHead = p.head !== undefined;
    const data = p.execute(b);
    if (p.error !== undefined) {
      this.fail('HPE_INVALID', p.error);
      return;
    }
    try {
      if (!hadHead) {
        if (p.head === undefined) return;
        this.h.onHead(p.head);
        if (this.destroyed) return;
      }
      if (p.complete) this.done();
      if (this.destroyed) return;
      if (data !== undefined || p.complete) this.h.onBody(data, p.complete);
    } catch (err) {
      this.internalError(err);
    }
  };

  /** A handler threw: the request ends (its connection closed) and the owner gets the error. */
  private internalError(err: unknown): void {
    if (!this.h.onInternalError) throw err;
    this.destroy('fault');
    this.h.onInternalError(err);
  }

  private readonly onError = (e: NodeJS.ErrnoException): void => {
    this.errCode ??= e.code ?? 'ERROR';
    this.errMessage ??= e.message;
  };

  private readonly onClose = (): void => {
    if (this.destroyed || this.complete) return;
    const s = this.sock;
    this.destroyed = true;
    if (s) this.detach(s);
    this.pool.drop();
    if (this.parser.head !== undefined && this.parser.finish()) {
      this.complete = true;
      try {
        this.h.onBody(undefined, true);
      } catch (err) {
        this.internalError(err);
      }
      return;
    }
    this.h.onFail(this.errCode ?? 'ECONNRESET', this.errMessage ?? 'socket hang up');
  };

  /** The body ended: the socket goes back to the pool or is closed. */
  private done(): void {
    this.complete = true;
    const s = this.sock!;
    this.detach(s);
    this.sock = undefined;
    if (this.parser.head!.keepAlive && !this.parser.extra && !s.destroyed && s.writable && s.readable) {
      s.resume();
      this.pool.release(s);
    } else {
      s.destroy();
      this.pool.drop();
    }
  }

  private fail(code: string, message: string): void {
    const s = this.sock;
    this.destroyed = true;
    if (s) {
      this.detach(s);
      s.destroy();
    }
    this.pool.drop();
    this.h.onFail(code, message);
  }

  private detach(s: net.Socket): void {
    if ((s as PooledSocket)[READER] === this.onData) (s as PooledSocket)[READER] = onOrphanData;
    s.off('error', this.onError);
    s.off('close', this.onClose);
    s.off('connect', this.onConnect);
  }
}

/** The request bytes of a JSON POST: request line, headers, body, in one buffer. */
export function requestBytes(path: string, host: string, headers: readonly string[], body: Buffer): Buffer {
  let head = `POST ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  head += `Content-Length: ${body.length}\r\n\r\n`;
  const hl = Buffer.byteLength(head, 'latin1');
  const out = Buffer.allocUnsafe(hl + body.length);
  out.write(head, 0, 'latin1');
  body.copy(out, hl);
  return out;
}

/** {@link Transport} on a {@link SocketPool}: every request of a plain-HTTP upstream. */
export class RawTransport implements Transport {
  private readonly pool: SocketPool;

  /** `hostHeader`: the Host header (`host:port` as the URL spells it); `basePath`: the server root's path. */
  constructor(host: string, port: number, private readonly hostHeader: string, private readonly basePath: string, maxSockets: number, idleMs: number) {
    this.pool = new SocketPool(host, port, maxSockets, idleMs);
  }

  post(path: string, headers: readonly string[], payload: Buffer, h: ResponseHandlers): StreamRequest {
    return new StreamRequest(this.pool, requestBytes(this.basePath + path, this.hostHeader, headers, payload), h);
  }

  destroy(): void {
    this.pool.destroy();
  }
}
