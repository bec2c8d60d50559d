/**
 * A deterministic tier for shadow tests: every answer is the same bytes for the same request (no
 * generated ids or timestamps), so two proxies' answers can be compared byte for byte.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The text of every answer. */
export const STUB_TEXT = 'Open 9 to 5, Saturday and Sunday.';
const PIECES = ['Open 9 to 5', ', Saturday', ' and Sunday', '.'];

/** A running stub tier. */
export interface StubTier {
  readonly url: string;
  /** Parsed bodies of the POSTs received, oldest first. */
  readonly bodies: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Starts the stub on 127.0.0.1 serving `/v1/chat/completions` (streamed or not) and `/health`. */
export async function startStubTier(model = 'llama-3.1-8b'): Promise<StubTier> {
  const bodies: Array<Record<string, unknown>> = [];
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
      bodies.push(body);
      const usage = { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 };
      if (body.stream !== true) {
        const json = JSON.stringify({
          id: 'chatcmpl-fixed',
          object: 'chat.completion',
          created: 1700000000,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: STUB_TEXT }, finish_reason: 'stop' }],
          usage,
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)) }).end(json);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      const head = `{"id":"chatcmpl-fixed","object":"chat.completion.chunk","created":1700000000,"model":"${model}"`;
      const frames = PIECES.map((p, i) => `data: ${head},"choices":[{"index":0,"delta":{${i === 0 ? '"role":"assistant",' : ''}"content":${JSON.stringify(p)}},"finish_reason":null}]}\n\n`);
      frames.push(`data: ${head},"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`);
      const so = body.stream_options as { include_usage?: boolean } | undefined;
      if (so?.include_usage) frames.push(`data: ${head},"choices":[],"usage":${JSON.stringify(usage)}}\n\n`);
      frames.push('data: [DONE]\n\n');
      let i = 0;
      const tick = () => {
        if (i < frames.length) {
          res.write(frames[i++]);
          setTimeout(tick, 2);
        } else res.end();
      };
      tick();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
