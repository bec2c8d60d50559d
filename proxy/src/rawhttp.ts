/**
 * A small HTTP/1.1 client for streamed tier answers: one POST on a pooled keep-alive `net.Socket`,
 * the response head and body framing parsed here. A stream read carries a few hundred bytes every
 * few milliseconds; the general-purpose client (parser callbacks, a Readable per response, request
 * bookkeeping) costs several times what the bytes themselves do. Everything else keeps `node:http`.
 */
import * as net from 'node:net';

/** Status line and headers of a response (header names lower-cased, repeats joined with `, `). */
export interface ResponseHead {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** The connection may carry another request once this body is complete. */
  readonly keepAlive: boolean;
}

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 16 * 1024;

const enum S {
  Head,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailer,
  Length,
  UntilClose,
  Done,
}

/**
 * Incremental parser of one HTTP/1.1 response. {@link execute} takes each read as it comes and
 * returns the body bytes it carried, de-chunked; interim 1xx answers are skipped.
 */
export class ResponseParser {
  head: ResponseHead | undefined;
  /** The body ended (terminal chunk and trailers, Content-Length reached, or no body). */
  complete = false;
  /** Why the response is malformed, once it is. */
  error: string | undefined;
  /** Bytes arrived after the end of the response: the connection must not be reused. */
  extra = false;
  private state = S.Head;
  private pending: Buffer | undefined;
  private line = '';
  private remaining = 0;
  /** Body segments of the read being parsed. */
  private one: Buffer | undefined;
  private more: Buffer[] | undefined;

  /** Feeds one read; returns the body bytes in it (undefined for none). Check `error` afterwards. */
  execute(b: Buffer): Buffer | undefined {
    let i = 0;
    const n = b.length;
    while (i < n && this.error === undefined) {
      switch (this.state) {
        case S.Head: {
          const data = this.pending ? Buffer.concat([this.pending, b.subarray(i)]) : b.subarray(i);
          const consumedBefore = this.pending ? this.pending.length : 0;
          const end = headEnd(data);
          if (end < 0) {
            if (data.length > MAX_HEAD) this.error = 'response head too large';
            else this.pending = Buffer.from(data);
            return undefined;
          }
          this.pending = undefined;
          i += end - consumedBefore;
          this.parseHead(data.toString('latin1', 0, end));
          break;
        }
        case S.ChunkSize: {
          let size: number;
          const lf = this.line === '' ? b.indexOf(10, i) : -1;
          if (lf >= 0) {
            // The whole size line is in this read: parsed from the bytes, no string made.
            size = parseChunkSizeBytes(b, i, lf > i && b[lf - 1] === 13 ? lf - 1 : lf);
            i = lf + 1;
          } else {
            const line = this.readLine(b, i);
            if (line === undefined) return this.out();
            i = line.next;
            size = parseChunkSize(line.text);
          }
          if (size < 0) {
            this.error = 'bad chunk size';
            break;
          }
          if (size === 0) this.state = S.Trailer;
          else {
            this.remaining = size;
            this.state = S.ChunkData;
          }
          break;
        }
        case S.ChunkData: {
          const k = Math.min(this.remaining, n - i);
          if (k > 0) this.take(b.subarray(i, i + k));
          i += k;
          this.remaining -= k;
          if (this.remaining === 0) this.state = S.ChunkDataEnd;
          break;
        }
        case S.ChunkDataEnd: {
          if (this.line === '' && b[i] === 13 && i + 1 < n && b[i + 1] === 10) {
            i += 2;
            this.state = S.ChunkSize;
            break;
          }
          const line = this.readLine(b, i);
          if (line === undefined) return this.out();
          i = line.next;
          if (line.text !== '') this.error = 'chunk not followed by CRLF';
          else this.state = S.ChunkSize;
          break;
        }
        case S.Trailer: {
          const line = this.readLine(b, i);
          if (line === undefined) return this.out();
          i = line.next;
          if (line.text === '') this.done();
          break;
        }
        case S.Length: {
          const k = Math.min(this.remaining, n - i);
          if (k > 0) this.take(b.subarray(i, i + k));
          i += k;
          this.remaining -= k;
          if (this.remaining === 0) this.done();
          break;
        }
        case S.UntilClose:
          this.take(b.subarray(i));
          i = n;
          break;
        case S.Done:
          this.extra = true;
          i = n;
          break;
      }
    }
    return this.out();
  }

  /** The connection ended: a body delimited by the close is complete; tells whether the response is. */
  finish(): boolean {
    if (this.state === S.UntilClose) this.done();
    return this.complete;
  }

  /** Adds a body segment of the current read. */
  private take(seg: Buffer): void {
    if (seg.length === 0) return;
    if (this.one === undefined) this.one = seg;
    else (this.more ??= [this.one]).push(seg);
  }

  /** The body bytes of the current read (usually one segment, handed on without a copy). */
  private out(): Buffer | undefined {
    const { one, more } = this;
    this.one = undefined;
    this.more = undefined;
    return more ? Buffer.concat(more) : one;
  }

  private done(): void {
    this.complete = true;
    this.state = S.Done;
  }

  /** One CRLF- (or LF-) terminated line from `i`, joined with what earlier reads left. */
  private readLine(b: Buffer, i: number): { text: string; next: number } | undefined {
    const lf = b.indexOf(10, i);
    if (lf < 0) {
      this.line += b.toString('latin1', i);
      if (this.line.length > MAX_LINE) this.error = 'line too long';
      return undefined;
    }
    let text = this.line + b.toString('latin1', i, lf);
    this.line = '';
    if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    return { text, next: lf + 1 };
  }

  private parseHead(text: string): void {
    const lines = text.split('\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?: [^\r]*)?\r?$/.exec(lines[0]);
    if (!m) {
      this.error = 'bad status line';
      return;
    }
    const minor = Number(m[1]);
    const status = Number(m[2]);
    const headers: Record<string, string> = {};
    for (let k = 1; k < lines.length; k++) {
      let l = lines[k];
      if (l.charCodeAt(l.length - 1) === 13) l = l.slice(0, -1);
      if (l === '') continue;
      const c = l.indexOf(':');
      if (c <= 0 || hasSpace(l, c)) {
        this.error = 'bad header line';
        return;
      }
      const name = l.slice(0, c).toLowerCase();
      const value = l.slice(c + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    if (status >= 100 && status < 200) {
      if (status === 101) this.error = 'unexpected protocol switch';
      // Interim answer (100 Continue, 103 Early Hints): the real one follows.
      return;
    }
    const conn = (headers.connection ?? '').toLowerCase();
    let keepAlive = minor === 1 ? !/(^|,)\s*close\s*(,|$)/.test(conn) : /(^|,)\s*keep-alive\s*(,|$)/.test(conn);
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined) {
      if (/(^|,)\s*chunked\s*$/i.test(te)) this.state = S.ChunkSize;
      else {
        this.state = S.UntilClose;
        keepAlive = false;
      }
      if (cl !== undefined) keepAlive = false;
    } else if (cl !== undefined) {
      const parts = cl.split(',').map((s) => s.trim());
      if (!parts.every((p) => /^\d+$/.test(p) && p === parts[0])) {
        this.error = 'bad content-length';
        return;
      }
      this.remaining = Number(parts[0]);
      this.state = S.Length;
    } else if (status === 204 || status === 304) {
      this.state = S.Length;
      this.remaining = 0;
    } else {
      this.state = S.UntilClose;
      keepAlive = false;
    }
    this.head = { status, headers, keepAlive };
    if (this.state === S.Length && this.remaining === 0) this.done();
  }
}

/** Whether `s[0, end)` holds whitespace (a header name must not). */
function hasSpace(s: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13 || c === 10 || c === 11 || c === 12) return true;
  }
  return false;
}

/** Offset just past the blank line ending a response head, or -1. */
function headEnd(b: Buffer): number {
  let from = 0;
  for (;;) {
    const lf = b.indexOf(10, from);
    if (lf < 0) return -1;
    if (lf + 1 < b.length && b[lf + 1] === 10) return lf + 2;
    if (lf + 2 < b.length && b[lf + 1] === 13 && b[lf + 2] === 10) return lf + 3;
    from = lf + 1;
  }
}

/** Size of a chunk-size line (extensions ignored), or -1 when malformed. */
export function parseChunkSize(line: string): number {
  return parseChunkSizeBytes(Buffer.from(line, 'latin1'), 0, Buffer.byteLength(line, 'latin1'));
}

/** {@link parseChunkSize} of the bytes `b[start, end)`, read without making a string. */
export function parseChunkSizeBytes(b: Buffer, start: number, end: number): number {
  let v = 0;
  let digits = 0;
  let k = start;
  for (; k < end; k++) {
    const c = b[k];
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else break;
    v = v * 16 + d;
    if (++digits > 12) return -1;
  }
  if (digits === 0) return -1;
  while (k < end && (b[k] === 32 || b[k] === 9)) k++;
  if (k < end && b[k] !== 59) return -1;
  return v;
}

/** What a streamed request tells its owner. No handler is called once the owner destroyed it. */
export interface StreamHandlers {
  /** Status line and headers (interim 1xx answers are skipped). */
  onHead(head: ResponseHead): void;
  /**
   * Body bytes of one read (undefined for none); `complete` when they end the body. `data` lives in
   * the shared read buffer: it is valid until this handler returns, so what is kept must be copied.
   */
  onBody(data: Buffer | undefined, complete: boolean): void;
  /** The connection failed or closed before the response was complete; `code` like `ECONNRESET`. */
  onFail(code: string, message: string): void;
  /**
   * `onHead` or `onBody` threw: the request is destroyed and the error handed here, so one relay's
   * bug ends that relay alone. Without this handler the error propagates.
   */
  onInternalError?(err: unknown): void;
}

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
export class StreamRequest {
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

  constructor(private readonly pool: SocketPool, private readonly request: Buffer, private readonly h: StreamHandlers) {
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
   * Gives the request up; no handler is called afterwards. `why`:
   * - `fault` (a deadline, a bad answer): the connection is closed;
   * - `unwanted` (the server did nothing wrong, the answer is no longer needed): the connection is
   *   closed too, unless it is still connecting and so carried nothing, and then it is pooled;
   * - `client-left`: as `unwanted`, and a closed connection is replaced in the pool (see
   *   {@link SocketPool.drop}).
   */
  destroy(why: 'fault' | 'unwanted' | 'client-left' = 'fault'): void {
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
      if (!this.h.onInternalError) throw err;
      this.destroy('fault');
      this.h.onInternalError(err);
    }
  };

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
        if (!this.h.onInternalError) throw err;
        this.h.onInternalError(err);
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
