/**
 * Many streams relayed at once, each read split at awkward places: every client gets exactly its own
 * bytes. Upstream reads share one buffer in the proxy, so anything kept past a read (a frame cut in
 * two, the held-back end of an answer) must be a copy; this catches a view that outlives its read.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { parseProxyConfig } from '../../proxy/src/config';
import { startProxy, type ProxyHandle } from '../../proxy/src/server';
import { KEY, baseDoc, merge, quietLogger } from './harness';
import { onRawRequests } from './helpers';

const STREAMS = 24;
const TOKENS = 30;

/** The SSE frames one stream sends: content frames unique to the stream, a finish, usage, [DONE]. */
function frames(id: string, withUsageChunk: boolean): string[] {
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ id: `chatcmpl-${id}`, object: 'chat.completion.chunk', model: 'llama-3.1-8b', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const out = [chunk({ role: 'assistant', content: '' }, null)];
  for (let i = 0; i < TOKENS; i++) out.push(chunk({ content: `${id}-token-${i} ` }, null));
  out.push(chunk({}, 'stop'));
  if (withUsageChunk) out.push(`data: ${JSON.stringify({ id: `chatcmpl-${id}`, object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 7, completion_tokens: TOKENS, total_tokens: TOKENS + 7 } })}\n\n`);
  out.push('data: [DONE]\n\n');
  return out;
}

/** A tier that answers in HTTP chunks cut across SSE frames, a few bytes at a time, interleaved with the other streams. */
function startChoppyTier(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    onRawRequests(s, (_raw, text) => {
      const body = JSON.parse(text) as { messages: Array<{ content: string }>; stream_options?: { include_usage?: boolean } };
      const id = body.messages[0].content;
      const payload = Buffer.from(frames(id, body.stream_options?.include_usage === true).join(''));
      // Cut points that fall inside frames, inside "data:" and inside the usage chunk.
      const pieces: Buffer[] = [];
      for (let i = 0, step = 3; i < payload.length; i += step, step = (step * 7) % 61 + 5) pieces.push(payload.subarray(i, Math.min(payload.length, i + step)));
      s.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n');
      let k = 0;
      const next = (): void => {
        if (s.destroyed) return;
        if (k === pieces.length) {
          s.write('0\r\n\r\n');
          return;
        }
        const p = pieces[k++];
        s.write(`${p.length.toString(16)}\r\n`);
        s.write(p);
        s.write('\r\n');
        // Other streams' pieces land in between: their reads reuse the proxy's read buffer.
        setImmediate(next);
      };
      next();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as net.AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) }),
    ),
  );
}

function stream(port: number, id: string, includeUsage: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const body: Record<string, unknown> = { model: 'llama-3.1-8b', stream: true, messages: [{ role: 'user', content: id }] };
    if (includeUsage) body.stream_options = { include_usage: true };
    req.end(JSON.stringify(body));
  });
}

describe('relaying many streams at once', () => {
  let tier: { port: number; close(): Promise<void> };
  let proxy: ProxyHandle;

  beforeAll(async () => {
    tier = await startChoppyTier();
    const url = `http://127.0.0.1:${tier.port}`;
    // Scoring servers are unreachable: these requests name their model and are never scored.
    const doc = merge(baseDoc(url, url, 'http://127.0.0.1:1', 'http://127.0.0.1:1'), { router: { centroidRetryMaxMs: 60_000 } });
    proxy = await startProxy(parseProxyConfig(doc), { logger: quietLogger });
  });

  afterAll(async () => {
    await proxy.close();
    await tier.close();
  });

  it('gives every client exactly its own stream, with the usage chunk it did not ask for removed', async () => {
    const ids = Array.from({ length: STREAMS }, (_, i) => `s${i}`);
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(ids.map((id) => stream(proxy.port, id, false)));
      results.forEach((r, i) => {
        expect(r.status).toBe(200);
        expect(r.body).toBe(frames(ids[i], false).join(''));
      });
    }
  });

  it('keeps the usage chunk, byte for byte, for clients that asked for it', async () => {
    const ids = Array.from({ length: STREAMS }, (_, i) => `u${i}`);
    const results = await Promise.all(ids.map((id, i) => stream(proxy.port, id, i % 2 === 0)));
    results.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body).toBe(frames(ids[i], i % 2 === 0).join(''));
    });
  });
});
