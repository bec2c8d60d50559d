import * as net from 'node:net';
import { ResponseParser, parseChunkSize, parseChunkSizeBytes } from '../../proxy/src/transport/http1-parser';
import { SocketPool, StreamRequest, requestBytes } from '../../proxy/src/transport/rawhttp';
import type { ResponseHead } from '../../proxy/src/transport/types';
import { CLIENT_GONE, DEADLINE, FAST_PATH, unwanted } from '../../proxy/src/abort-reasons';
import { Upstream } from '../../proxy/src/upstream';
import { onRawRequests } from './helpers';

/** Feeds `text` to a fresh parser split at the given offsets; returns the parser and the body. */
function feed(text: string | Buffer, cuts: number[] = []): { p: ResponseParser; body: string } {
  const b = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const p = new ResponseParser();
  const parts: Buffer[] = [];
  let from = 0;
  for (const c of [...cuts, b.length]) {
    const out = p.execute(b.subarray(from, c));
    if (out) parts.push(Buffer.from(out));
    from = c;
  }
  return { p, body: Buffer.concat(parts).toString('latin1') };
}

/** Every way of cutting `text` into two reads, plus byte by byte. */
function everySplit(text: string, check: (p: ResponseParser, body: string) => void): void {
  for (let k = 0; k <= text.length; k++) {
    const { p, body } = feed(text, [k]);
    check(p, body);
  }
  const cuts = Array.from({ length: text.length }, (_, i) => i + 1);
  const { p, body } = feed(text, cuts);
  check(p, body);
}

const CHUNKED =
  'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\nX-Two: a\r\nx-two: b\r\n\r\n' +
  '6\r\ndata: \r\n' +
  'c;name=value\r\n0123456789\n\n\r\n' +
  '3 ; ext\r\nxyz\r\n' +
  '0\r\n\r\n';

describe('ResponseParser', () => {
  it('reads the status line and headers, whatever the read boundaries', () => {
    everySplit(CHUNKED, (p, body) => {
      expect(p.error).toBeUndefined();
      expect(p.head?.status).toBe(200);
      expect(p.head?.headers['content-type']).toBe('text/event-stream');
      expect(p.head?.headers['x-two']).toBe('a, b');
      expect(p.head?.keepAlive).toBe(true);
      expect(body).toBe('data: 0123456789\n\nxyz');
      expect(p.complete).toBe(true);
      expect(p.extra).toBe(false);
    });
  });

  it('returns the bytes of one read as one buffer, without copying a single chunk', () => {
    const p = new ResponseParser();
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n'));
    const read = Buffer.from('5\r\nhello\r\n');
    const out = p.execute(read)!;
    expect(out.toString()).toBe('hello');
    expect(out.buffer).toBe(read.buffer);
    expect(p.execute(Buffer.from('2\r\nab\r\n3\r\ncde\r\n'))!.toString()).toBe('abcde');
    expect(p.complete).toBe(false);
  });

  it('skips trailers and completes only after the blank line that ends them', () => {
    const text = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-trailer: 1\r\nx-other: 2\r\n\r\n';
    everySplit(text, (p, body) => {
      expect(p.error).toBeUndefined();
      expect(body).toBe('ok');
      expect(p.complete).toBe(true);
    });
    const { p } = feed(text.slice(0, -2));
    expect(p.complete).toBe(false);
  });

  it('reads a Content-Length body and stops at its end', () => {
    const text = 'HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"error":1}';
    everySplit(text, (p, body) => {
      expect(p.error).toBeUndefined();
      expect(p.head?.status).toBe(400);
      expect(body).toBe('{"error":1}');
      expect(p.complete).toBe(true);
      expect(p.head?.keepAlive).toBe(true);
    });
    const { p, body } = feed(text + 'junk');
    expect(body).toBe('{"error":1}');
    expect(p.extra).toBe(true);
  });

  it('completes at once for an empty body', () => {
    expect(feed('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n').p.complete).toBe(true);
    expect(feed('HTTP/1.1 204 No Content\r\n\r\n').p.complete).toBe(true);
  });

  it('honours Connection: close and HTTP/1.0', () => {
    expect(feed('HTTP/1.1 200 OK\r\nConnection: Close\r\ncontent-length: 0\r\n\r\n').p.head?.keepAlive).toBe(false);
    expect(feed('HTTP/1.1 200 OK\r\nconnection: upgrade, close\r\ncontent-length: 0\r\n\r\n').p.head?.keepAlive).toBe(false);
    expect(feed('HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n').p.head?.keepAlive).toBe(false);
    expect(feed('HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n').p.head?.keepAlive).toBe(true);
  });

  it('reads a body without length until the connection closes, and never reuses it', () => {
    const { p, body } = feed('HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n\r\nboom', [20, 60]);
    expect(body).toBe('boom');
    expect(p.complete).toBe(false);
    expect(p.head?.keepAlive).toBe(false);
    expect(p.finish()).toBe(true);
    expect(p.complete).toBe(true);
  });

  it('does not count a chunked body cut short as complete', () => {
    const { p } = feed('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel');
    expect(p.finish()).toBe(false);
  });

  it('skips interim 1xx answers', () => {
    const text = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
    everySplit(text, (p, body) => {
      expect(p.head?.status).toBe(200);
      expect(body).toBe('ok');
      expect(p.complete).toBe(true);
    });
  });

  it('accepts bare LF line ends', () => {
    const { p, body } = feed('HTTP/1.1 200 OK\ntransfer-encoding: chunked\n\n2\nok\n0\n\n');
    expect(p.error).toBeUndefined();
    expect(body).toBe('ok');
    expect(p.complete).toBe(true);
  });

  it('reports malformed answers', () => {
    expect(feed('HTTP/2 200\r\n\r\n').p.error).toBeDefined();
    expect(feed('garbage\r\n\r\n').p.error).toBeDefined();
    expect(feed('HTTP/1.1 200 OK\r\nno colon\r\n\r\n').p.error).toBeDefined();
    // A line without a colon is malformed even when a later line has one.
    expect(feed('HTTP/1.1 200 OK\r\nno colon\r\nx-a: b\r\n\r\n').p.error).toBeDefined();
    expect(feed('HTTP/1.1 200 OK\r\nx-a: b\r\nbad name: v\r\n\r\n').p.error).toBeDefined();
    expect(feed('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n').p.error).toBeDefined();
    expect(feed('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nokX\r\n').p.error).toBeDefined();
    expect(feed('HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\n').p.error).toBeDefined();
    expect(feed(Buffer.alloc(70 * 1024, 65)).p.error).toBeDefined();
  });

  it('parses chunk sizes', () => {
    expect(parseChunkSize('1a')).toBe(26);
    expect(parseChunkSize('FF')).toBe(255);
    expect(parseChunkSize('10;a=b')).toBe(16);
    expect(parseChunkSize('10 ;a')).toBe(16);
    expect(parseChunkSize('')).toBe(-1);
    expect(parseChunkSize('g')).toBe(-1);
    expect(parseChunkSize('1 2')).toBe(-1);
    expect(parseChunkSize('1234567890123')).toBe(-1);
  });

  it('parses chunk sizes from the bytes of a read, inside a larger buffer', () => {
    const b = Buffer.from('xx1a\r\nFF;ext=1\r\n10 ;a\r\ng\r\n\r\n1 2\r\n', 'latin1');
    const line = (s: string) => {
      const at = b.indexOf(s);
      return parseChunkSizeBytes(b, at, at + s.length);
    };
    expect(line('1a')).toBe(26);
    expect(line('FF;ext=1')).toBe(255);
    expect(line('10 ;a')).toBe(16);
    expect(line('g')).toBe(-1);
    expect(line('1 2')).toBe(-1);
    expect(parseChunkSizeBytes(b, 6, 6)).toBe(-1);
  });

  it('takes a chunk-size line ending in a bare LF or split across reads', () => {
    const text = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\nhello\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n';
    everySplit(text, (p, body) => {
      expect(p.error).toBeUndefined();
      expect(p.complete).toBe(true);
      expect(body).toBe('helloabcdefghijklmnopqrstuvwxyz');
    });
  });
});

describe('requestBytes', () => {
  it('writes the request line, headers and body in one buffer', () => {
    const b = requestBytes('/v1/chat/completions', '127.0.0.1:8000', ['Content-Type', 'application/json'], Buffer.from('{"a":1}'));
    expect(b.toString()).toBe('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}');
  });
});

describe('StreamRequest on a SocketPool', () => {
  let server: net.Server;
  let port: number;
  let answers: string[];
  let connections: number;
  let requests: string[];

  beforeEach(async () => {
    answers = [];
    connections = 0;
    requests = [];
    server = net.createServer((s) => {
      connections++;
      onRawRequests(s, (raw) => {
        requests.push(raw);
        const a = answers.shift()!;
        // Dribbled out in small pieces: the client must join them.
        for (let i = 0; i < a.length; i += 7) s.write(a.slice(i, i + 7));
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });

  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  function run(pool: SocketPool): Promise<{ head?: ResponseHead; body: string; fail?: string; reused: boolean }> {
    return new Promise((resolve) => {
      let head: ResponseHead | undefined;
      let body = '';
      const req: StreamRequest = new StreamRequest(pool, requestBytes('/p', `127.0.0.1:${port}`, [], Buffer.from('{}')), {
        onHead: (h) => (head = h),
        onBody: (d, complete) => {
          if (d) body += d.toString();
          if (complete) resolve({ head, body, reused: req.reusedSocket });
        },
        onFail: (code) => resolve({ head, body, fail: code, reused: req.reusedSocket }),
      });
    });
  }

  it('reuses a connection after a clean chunked body', async () => {
    const pool = new SocketPool('127.0.0.1', port, 4, 4000);
    answers.push('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    const a = await run(pool);
    const b = await run(pool);
    expect(a).toMatchObject({ body: 'hello', reused: false });
    expect(b).toMatchObject({ body: 'ok', reused: true });
    expect(connections).toBe(1);
    expect(requests[0].startsWith('POST /p HTTP/1.1\r\nHost: 127.0.0.1:')).toBe(true);
    pool.destroy();
  });

  it('keeps one idle-timeout and one close listener on a socket, however many requests it serves', async () => {
    const made: net.Socket[] = [];
    // The module object itself (the ES namespace view of it cannot be spied on).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const netModule = require('node:net') as typeof net;
    const real = netModule.createConnection;
    const spy = jest.spyOn(netModule, 'createConnection').mockImplementation(((opts: net.NetConnectOpts) => {
      const s = real(opts);
      made.push(s);
      return s;
    }) as typeof net.createConnection);
    try {
      const pool = new SocketPool('127.0.0.1', port, 4, 4000);
      const before = { timeout: 0, close: 0, data: 0, error: 0 };
      for (let i = 0; i < 30; i++) {
        answers.push('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        expect(await run(pool)).toMatchObject({ body: 'ok', reused: i > 0 });
        if (i === 0) {
          before.timeout = made[0].listenerCount('timeout');
          before.close = made[0].listenerCount('close');
          before.data = made[0].listenerCount('data');
          before.error = made[0].listenerCount('error');
        }
      }
      expect(made).toHaveLength(1);
      expect(connections).toBe(1);
      expect(made[0].listenerCount('timeout')).toBe(before.timeout);
      expect(made[0].listenerCount('timeout')).toBeLessThanOrEqual(1);
      expect(made[0].listenerCount('close')).toBe(before.close);
      expect(made[0].listenerCount('data')).toBe(before.data);
      expect(made[0].listenerCount('error')).toBe(before.error);
      pool.destroy();
    } finally {
      spy.mockRestore();
    }
  });

  it('closes a connection left idle in the pool for its idle time, and opens a new one after', async () => {
    const pool = new SocketPool('127.0.0.1', port, 4, 60);
    const closed = new Promise<void>((resolve) => server.once('connection', (s) => s.once('close', () => resolve())));
    answers.push('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    expect(await run(pool)).toMatchObject({ body: 'ok', reused: false });
    await closed;
    expect(await run(pool)).toMatchObject({ body: 'ok', reused: false });
    expect(connections).toBe(2);
    pool.destroy();
  });

  it('an upstream keeps idle connections for its configured keep-alive time', async () => {
    const once = (u: Upstream) =>
      new Promise<string>((resolve) => {
        let body = '';
        u.stream('/p', [], Buffer.from('{}'), {
          onHead: () => undefined,
          onBody: (d, complete) => {
            if (d) body += d.toString();
            if (complete) resolve(body);
          },
          onFail: (code) => resolve(`failed ${code}`),
        });
      });
    const short = new Upstream(`http://127.0.0.1:${port}`, 4, 50);
    const long = new Upstream(`http://127.0.0.1:${port}`, 4, 5000);
    for (let i = 0; i < 4; i++) answers.push('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    expect(await once(short)).toBe('ok');
    await new Promise((r) => setTimeout(r, 200));
    expect(await once(short)).toBe('ok');
    expect(connections).toBe(2);
    expect(await once(long)).toBe('ok');
    await new Promise((r) => setTimeout(r, 200));
    expect(await once(long)).toBe('ok');
    expect(connections).toBe(3);
    short.destroy();
    long.destroy();
  });

  it('posts JSON on both clients with the same answers and errors (node:http serves https upstreams)', async () => {
    type Send = (path: string, payload: Buffer, requestId: string | undefined, finish: (err: Error | undefined, value?: unknown) => void) => () => void;
    const u = new Upstream(`http://127.0.0.1:${port}`, 4, 5000);
    const viaHttp = (u as unknown as { sendHttp: Send }).sendHttp.bind(u);
    const call = (send: Send) =>
      new Promise<unknown>((resolve) => {
        send('/v1/x', Buffer.from('{"a":1}'), 'rid-7', (err, value) => resolve(err ? `${err.name}: ${err.message}` : value));
      });
    answers.push('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n{"ok":1}');
    expect(await call(viaHttp)).toEqual({ ok: 1 });
    expect(requests[requests.length - 1]).toMatch(/x-request-id: rid-7/i);
    answers.push('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n');
    expect(await call(viaHttp)).toMatch(/status 503/);
    answers.push('HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nnop');
    expect(await call(viaHttp)).toMatch(/not JSON/);
    // The lightweight client, as plain-HTTP upstreams use it, gives the same results.
    answers.push('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n{"ok":1}');
    expect(await u.postJsonText('/v1/x', '{"a":1}', undefined, 'rid-8')).toEqual({ ok: 1 });
    expect(requests[requests.length - 1]).toMatch(/x-request-id: rid-8/i);
    answers.push('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n');
    await expect(u.postJsonText('/v1/x', '{"a":1}')).rejects.toThrow(/status 503/);
    answers.push('HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nnop');
    await expect(u.postJsonText('/v1/x', '{"a":1}')).rejects.toThrow(/not JSON/);
    u.destroy();
  });

  it('does not reuse a connection the answer asked to close', async () => {
    const pool = new SocketPool('127.0.0.1', port, 4, 4000);
    answers.push('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    expect(await run(pool)).toMatchObject({ body: 'ok' });
    expect(await run(pool)).toMatchObject({ body: 'ok', reused: false });
    expect(connections).toBe(2);
    pool.destroy();
  });

  it('reports a connection closed mid-body', async () => {
    const pool = new SocketPool('127.0.0.1', port, 4, 4000);
    server.removeAllListeners('connection');
    server.on('connection', (s) => {
      s.once('data', () => s.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel'));
    });
    const r = await run(pool);
    expect(r.head?.status).toBe(200);
    expect(r.fail).toBeDefined();
    pool.destroy();
  });

  it('reports a refused connection', async () => {
    const pool = new SocketPool('127.0.0.1', 1, 4, 4000);
    const r = await run(pool);
    expect(r.fail).toBe('ECONNREFUSED');
  });

  /** Starts a request whose answer nobody reads. */
  function started(pool: SocketPool): StreamRequest {
    return new StreamRequest(pool, requestBytes('/p', `127.0.0.1:${port}`, [], Buffer.from('{}')), { onHead: () => undefined, onBody: () => undefined, onFail: () => undefined });
  }

  /** Starts a request the server never answers; resolves once the server has it. */
  async function unanswered(pool: SocketPool): Promise<StreamRequest> {
    answers.push('');
    const before = requests.length;
    const req = started(pool);
    await waitUntil(() => requests.length > before);
    return req;
  }

  async function waitUntil(check: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(check()).toBe(true);
  }

  it('opens a connection in place of one given up while healthy, and the next request uses it', async () => {
    const pool = new SocketPool('127.0.0.1', port, 4, 4000);
    const req = await unanswered(pool);
    expect(connections).toBe(1);
    req.destroy('client-left');
    // The replacement connects with no request waiting for it.
    await waitUntil(() => connections === 2);
    answers.push('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    const next = await run(pool);
    expect(next).toMatchObject({ body: 'ok', reused: true });
    expect(connections).toBe(2);
    pool.destroy();
  });

  it('opens no replacement for a connection closed for cause, nor once the pool is closed', async () => {
    const pool = new SocketPool('127.0.0.1', port, 4, 4000);
    (await unanswered(pool)).destroy();
    const late = await unanswered(pool);
    expect(connections).toBe(2);
    pool.destroy();
    late.destroy('client-left');
    await new Promise((r) => setTimeout(r, 50));
    expect(connections).toBe(2);
  });

  it('pools a new connection given up as unwanted before it connected: nothing was sent on it', async () => {
    const pool = new SocketPool('127.0.0.1', port, 4, 4000);
    started(pool).destroy('unwanted');
    answers.push('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    await new Promise((r) => setTimeout(r, 50));
    expect(await run(pool)).toMatchObject({ body: 'ok', reused: true });
    expect(connections).toBe(1);
    expect(requests).toHaveLength(1);
    pool.destroy();
  });

  it('closes a new connection given up for a fault, even before it connected', async () => {
    const pool = new SocketPool('127.0.0.1', port, 4, 4000);
    started(pool).destroy('fault');
    answers.push('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    await new Promise((r) => setTimeout(r, 50));
    expect(await run(pool)).toMatchObject({ body: 'ok', reused: false });
    pool.destroy();
  });

  it('an aborted JSON call keeps its unused new connection when the answer is unwanted (not past a deadline)', async () => {
    expect([unwanted(FAST_PATH), unwanted(CLIENT_GONE), unwanted(DEADLINE), unwanted(undefined)]).toEqual([true, true, false, false]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const netModule = require('node:net') as typeof net;
    const spy = jest.spyOn(netModule, 'createConnection');
    try {
      const u = new Upstream(`http://127.0.0.1:${port}`, 4, 5000);
      const ctl = new AbortController();
      const p = u.postJsonText('/p', '{}', ctl.signal);
      ctl.abort(FAST_PATH);
      await expect(p).rejects.toThrow('aborted');
      await new Promise((r) => setTimeout(r, 50));
      answers.push('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
      await expect(u.postJsonText('/p', '{}')).resolves.toEqual({});
      // One connection made in all: the call after the abort used the one the abort left unused.
      expect(spy).toHaveBeenCalledTimes(1);
      expect(requests).toHaveLength(1);
      u.destroy();
    } finally {
      spy.mockRestore();
    }
  });

  it('queues requests beyond the socket cap and serves them as sockets free up', async () => {
    const pool = new SocketPool('127.0.0.1', port, 1, 4000);
    answers.push('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na', 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nb', 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nc');
    const rs = await Promise.all([run(pool), run(pool), run(pool)]);
    expect(rs.map((r) => r.body).sort()).toEqual(['a', 'b', 'c']);
    expect(connections).toBe(1);
    pool.destroy();
  });
});
