/**
 * Both upstream transports keep an error in their owner's callbacks to that request: the request is
 * given up (its connection closed, so the server frees the slot) and the error is handed to
 * `onInternalError`; nothing is thrown into the socket's event handlers.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeHttpTransport } from '../../proxy/src/transport/node-http';
import { RawTransport } from '../../proxy/src/transport/rawhttp';
import type { ResponseHandlers, ResponseHead, Transport } from '../../proxy/src/transport/types';

let server: http.Server;
let port: number;
let closed: number;
beforeAll(async () => {
  closed = 0;
  // Answers with a head and one chunk, then keeps the stream open until the client closes it.
  server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"a":1}\n\n');
    res.on('close', () => closed++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const transports: Array<[string, () => Transport]> = [
  ['the lightweight client', () => new RawTransport('127.0.0.1', port, `127.0.0.1:${port}`, '', 4, 4000)],
  ['node:http', () => new NodeHttpTransport({ protocol: 'http:', hostname: '127.0.0.1', port, basePath: '' }, 4, 4000)],
];

/** Handlers that throw from `where` and record what the transport reports afterwards. */
function throwing(where: 'head' | 'body'): { h: ResponseHandlers; events: string[]; handed: Promise<unknown> } {
  const events: string[] = [];
  let hand: (e: unknown) => void = () => undefined;
  const handed = new Promise<unknown>((r) => (hand = r));
  const h: ResponseHandlers = {
    onHead(head: ResponseHead) {
      events.push(`head ${head.status}`);
      if (where === 'head') throw new Error('injected in onHead');
    },
    onBody() {
      events.push('body');
      if (where === 'body') throw new Error('injected in onBody');
    },
    onFail(code) {
      events.push(`fail ${code}`);
    },
    onInternalError(err) {
      events.push('internal');
      hand(err);
    },
  };
  return { h, events, handed };
}

describe.each(transports)('%s', (_name, make) => {
  test.each(['head', 'body'] as const)('a throw in on%s ends that request: the error is handed over and the connection closed', async (where) => {
    const t = make();
    const before = closed;
    try {
      const { h, events, handed } = throwing(where);
      t.post('/v1/chat/completions', ['Content-Type', 'application/json'], Buffer.from('{}'), h);
      let timer: NodeJS.Timeout | undefined;
      const err = (await Promise.race([handed, new Promise((r) => (timer = setTimeout(() => r(new Error('nothing handed over within 2 s')), 2000)))])) as Error;
      clearTimeout(timer);
      expect(err.message).toBe(`injected in on${where === 'head' ? 'Head' : 'Body'}`);
      const deadline = Date.now() + 2000;
      while (closed === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(closed).toBe(before + 1);
      await new Promise((r) => setTimeout(r, 50));
      // Nothing reaches the owner after the error: no further body, no failure report.
      expect(events).toEqual(where === 'head' ? ['head 200', 'internal'] : ['head 200', 'body', 'internal']);
    } finally {
      t.destroy();
    }
  });
});
