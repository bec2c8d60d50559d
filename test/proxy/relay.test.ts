/** The relay on its own: a real client connection, an upstream stood in for by a recording source. */
import * as http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Relay, type RelayOwner } from '../../proxy/src/dispatch/relay';
import type { ResponseHead, UpstreamCall } from '../../proxy/src/transport/types';

/** An upstream call that records what the relay asks of it. */
class FakeSource implements UpstreamCall {
  complete = false;
  pauses = 0;
  resumes = 0;
  paused = false;
  pause(): void {
    this.pauses++;
    this.paused = true;
  }
  resume(): void {
    this.resumes++;
    this.paused = false;
  }
  destroy(): void {}
}

/** Records what the relay reports. */
class Owner implements RelayOwner {
  events: string[] = [];
  relayFirstByte(): void {
    this.events.push('first-byte');
  }
  relayEnded(): void {
    this.events.push('ended');
  }
  relayBroke(code: string): void {
    this.events.push(`broke ${code}`);
  }
  internalFailure(err: unknown): boolean {
    this.events.push(`internal ${String(err)}`);
    return true;
  }
}

const SSE: ResponseHead = { status: 200, headers: { 'content-type': 'text/event-stream' }, keepAlive: true };

/** A server whose one response is handed to `serve`, and a client request to it. */
async function withRelay(serve: (res: http.ServerResponse) => void, client: (res: http.IncomingMessage) => Promise<void>): Promise<void> {
  const server = http.createServer((req, res) => {
    req.resume();
    serve(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ hostname: '127.0.0.1', port, method: 'POST', path: '/', agent: false }, (res) => client(res).then(resolve, reject));
      req.on('error', reject);
      req.end('{}');
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    res.setEncoding('latin1');
    res.on('data', (c: string) => (text += c));
    res.on('end', () => resolve(text));
  });
}

describe('relay', () => {
  test('a slow client pauses the upstream, and the drained socket resumes it; every byte arrives in order', async () => {
    const source = new FakeSource();
    const owner = new Owner();
    const frame = (i: number) => `data: ${String(i).padStart(6, '0')}${'x'.repeat(16_000)}\n\n`;
    let sent = 0;
    let relay: Relay | undefined;
    await withRelay(
      (res) => {
        relay = new Relay(res, owner, 5000);
        relay.start(source, 200, SSE, ['x-route-tier', 'small'], false);
        // Write until the client socket pushes back (the client does not read yet).
        const push = () => {
          while (!source.paused && sent < 400) relay!.body(Buffer.from(frame(sent++)), false);
          if (sent < 400) setTimeout(push, 5);
          else relay!.body(Buffer.from('data: [DONE]\n\n'), true);
        };
        push();
      },
      async (res) => {
        expect(res.headers['x-route-tier']).toBe('small');
        expect(res.headers['cache-control']).toBe('no-cache');
        res.pause();
        await new Promise((r) => setTimeout(r, 100));
        expect(source.pauses).toBeGreaterThanOrEqual(1);
        expect(sent).toBeLessThan(400);
        res.resume();
        const text = await readAll(res);
        const expected = Array.from({ length: 400 }, (_, i) => frame(i)).join('') + 'data: [DONE]\n\n';
        expect(text).toBe(expected);
      },
    );
    expect(source.resumes).toBeGreaterThanOrEqual(1);
    expect(owner.events).toEqual(['first-byte', 'ended']);
  });

  test('a stream that breaks mid-frame ends the frame, then an SSE error event, and no [DONE]', async () => {
    const owner = new Owner();
    await withRelay(
      (res) => {
        const relay = new Relay(res, owner, 5000);
        relay.start(new FakeSource(), 200, SSE, [], false);
        relay.body(Buffer.from('data: {"choices":[]}\n\ndata: {"cho'), false);
        setTimeout(() => relay.fail('The model tier closed the connection mid-answer.', 'upstream_reset'), 20);
      },
      async (res) => {
        const text = await readAll(res);
        expect(text).toBe('data: {"choices":[]}\n\ndata: {"cho\n\ndata: {"error":{"message":"The model tier closed the connection mid-answer.","type":"server_error","param":null,"code":"upstream_reset"}}\n\n');
      },
    );
    expect(owner.events).toEqual(['first-byte', 'broke upstream_reset']);
  });

  test('a stream silent past the idle deadline ends with an idle-timeout error event', async () => {
    const owner = new Owner();
    await withRelay(
      (res) => {
        const relay = new Relay(res, owner, 50);
        relay.start(new FakeSource(), 200, SSE, [], false);
        relay.body(Buffer.from('data: {"a":1}\n\n'), false);
      },
      async (res) => {
        const text = await readAll(res);
        expect(text).toMatch(/^data: \{"a":1\}\n\ndata: \{"error":\{.*"code":"upstream_idle_timeout"\}\}\n\n$/);
      },
    );
    expect(owner.events).toEqual(['first-byte', 'broke upstream_idle_timeout']);
  });

  test('a stream waiting for its first byte gets comment lines at the keep-alive interval, and the idle deadline runs only from its first byte', async () => {
    const owner = new Owner();
    await withRelay(
      (res) => {
        // Idle 60 ms, first byte after 250 ms: only the first-token deadline (1000 ms) applies until then.
        const relay = new Relay(res, owner, 60);
        relay.start(new FakeSource(), 200, SSE, [], false, false, { withinMs: 1000, keepAliveMs: 50 });
        setTimeout(() => relay.body(Buffer.from('data: {"a":1}\n\n'), false), 250);
        setTimeout(() => relay.body(Buffer.from('data: [DONE]\n\n'), true), 290);
      },
      async (res) => {
        const text = await readAll(res);
        const [comments, rest] = [text.slice(0, text.indexOf('data:')), text.slice(text.indexOf('data:'))];
        expect(comments.split(': waiting for the model\n\n').length - 1).toBeGreaterThanOrEqual(2);
        expect(comments.split(': waiting for the model\n\n').join('')).toBe('');
        expect(rest).toBe('data: {"a":1}\n\ndata: [DONE]\n\n');
      },
    );
    expect(owner.events).toEqual(['first-byte', 'ended']);
  });

  test('no first byte within the first-token deadline: an SSE error event after the comment lines, and the owner is told', async () => {
    const owner = new Owner();
    await withRelay(
      (res) => {
        const relay = new Relay(res, owner, 20);
        relay.start(new FakeSource(), 200, SSE, [], false, false, { withinMs: 150, keepAliveMs: 40 });
      },
      async (res) => {
        const text = await readAll(res);
        expect(text).toMatch(/^(: waiting for the model\n\n)+data: \{"error":\{.*"code":"upstream_first_token_timeout"\}\}\n\n$/);
      },
    );
    expect(owner.events).toEqual(['broke upstream_first_token_timeout']);
  });

  test('after the first byte the idle deadline applies, and no comment line is added', async () => {
    const owner = new Owner();
    await withRelay(
      (res) => {
        const relay = new Relay(res, owner, 60);
        relay.start(new FakeSource(), 200, SSE, [], false, false, { withinMs: 5000, keepAliveMs: 20 });
        relay.body(Buffer.from('data: {"a":1}\n\n'), false);
      },
      async (res) => {
        const text = await readAll(res);
        expect(text).toMatch(/^data: \{"a":1\}\n\ndata: \{"error":\{.*"code":"upstream_idle_timeout"\}\}\n\n$/);
      },
    );
    expect(owner.events).toEqual(['first-byte', 'broke upstream_idle_timeout']);
  });

  test('reads closer together than the idle deadline keep a stream alive past it, and the deadline counts from the last read', async () => {
    const owner = new Owner();
    let lastReadAt = 0;
    await withRelay(
      (res) => {
        // Idle 80 ms; reads every 40 ms for 200 ms, then silence.
        const relay = new Relay(res, owner, 80);
        relay.start(new FakeSource(), 200, SSE, [], false);
        for (let i = 0; i <= 5; i++) {
          setTimeout(() => {
            relay.body(Buffer.from(`data: {"i":${i}}\n\n`), false);
            lastReadAt = performance.now();
          }, i * 40);
        }
      },
      async (res) => {
        const text = await readAll(res);
        const silentFor = performance.now() - lastReadAt;
        expect(text).toMatch(/^data: \{"i":0\}\n\ndata: \{"i":1\}\n\ndata: \{"i":2\}\n\ndata: \{"i":3\}\n\ndata: \{"i":4\}\n\ndata: \{"i":5\}\n\ndata: \{"error":\{.*"code":"upstream_idle_timeout"\}\}\n\n$/);
        expect(silentFor).toBeGreaterThanOrEqual(78);
      },
    );
    expect(owner.events).toEqual(['first-byte', 'broke upstream_idle_timeout']);
  });

  test('on a keep-alive connection, the head leaves with the first chunk and the last chunk with the terminator, and the next request is served', async () => {
    // What the server socket hands to the kernel, batch by batch (net.Socket's _write/_writev).
    const batches: string[] = [];
    const record = (sock: Socket): void => {
      if ((sock as unknown as { recorded?: true }).recorded) return;
      (sock as unknown as { recorded?: true }).recorded = true;
      const w = sock as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
      const write = w._write.bind(sock);
      const writev = w._writev.bind(sock);
      w._write = (chunk, ...rest) => {
        batches.push(Buffer.from(chunk as Buffer).toString('latin1'));
        write(chunk, ...rest);
      };
      w._writev = (chunks, ...rest) => {
        batches.push((chunks as Array<{ chunk: Buffer | string }>).map((c) => Buffer.from(c.chunk as Buffer).toString('latin1')).join(''));
        writev(chunks, ...rest);
      };
    };
    const server = http.createServer((req, res) => {
      req.resume();
      record(res.socket as Socket);
      const relay = new Relay(res, new Owner(), 5000);
      relay.start(new FakeSource(), 200, SSE, ['x-route-tier', 'small'], false);
      relay.body(Buffer.from('data: {"a":1}\n\n'), false);
      setTimeout(() => relay.body(Buffer.from('data: {"b":2}\n\n'), false), 10);
      setTimeout(() => relay.body(Buffer.from('data: [DONE]\n\n'), true), 20);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const request = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}';
    const body = 'f\r\ndata: {"a":1}\n\n\r\nf\r\ndata: {"b":2}\n\n\r\ne\r\ndata: [DONE]\n\n\r\n0\r\n\r\n';
    try {
      const raw = await new Promise<string>((resolve, reject) => {
        const c = connect(port, '127.0.0.1');
        let got = '';
        let answers = 0;
        c.setEncoding('latin1');
        c.on('data', (d: string) => {
          got += d;
          const done = got.split('0\r\n\r\n').length - 1;
          if (done > answers) {
            answers = done;
            if (answers === 1) c.write(request);
            else {
              c.end();
              resolve(got);
            }
          }
        });
        c.on('error', reject);
        c.write(request);
      });
      const answers = raw.split(/(?=HTTP\/1\.1 )/);
      expect(answers).toHaveLength(2);
      for (const a of answers) {
        expect(a).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(a).toMatch(/\r\ntransfer-encoding: chunked\r\n/i);
        expect(a.slice(a.indexOf('\r\n\r\n') + 4)).toBe(body);
      }
      // Per answer: head + first chunk, the middle chunk, last chunk + terminator.
      expect(batches).toHaveLength(6);
      for (const i of [0, 3]) {
        expect(batches[i]).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nf\r\ndata: \{"a":1\}\n\n\r\n$/);
        expect(batches[i + 1]).toBe('f\r\ndata: {"b":2}\n\n\r\n');
        expect(batches[i + 2]).toBe('e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n');
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('a JSON answer keeps its length, passes unchanged, and its usage is read from its tail', async () => {
    const owner = new Owner();
    const answer = JSON.stringify({ id: 'x', choices: [{ message: { content: 'y'.repeat(10_000) } }], usage: { prompt_tokens: 12, completion_tokens: 34 } });
    let relay: Relay | undefined;
    await withRelay(
      (res) => {
        relay = new Relay(res, owner, 5000);
        relay.start(new FakeSource(), 200, { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(answer.length) }, keepAlive: true }, [], true);
        const b = Buffer.from(answer);
        relay.body(b.subarray(0, 3000), false);
        relay.body(b.subarray(3000, 9000), false);
        relay.body(b.subarray(9000), true);
      },
      async (res) => {
        expect(res.headers['content-length']).toBe(String(answer.length));
        expect(await readAll(res)).toBe(answer);
      },
    );
    expect(relay!.usage).toEqual({ promptTokens: 12, completionTokens: 34 });
    expect(owner.events).toEqual(['first-byte', 'ended']);
  });
});
