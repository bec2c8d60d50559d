/** Every row of shared/docs/faults.md, each as a test, over real HTTP against the vLLM simulator. */
import * as http from 'node:http';
import * as net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { AddressInfo } from 'node:net';
import { parseProxyConfig } from '../../proxy/src/config';
import { startProxy, type ProxyHandle } from '../../proxy/src/server';
import { KEY, baseDoc, chat, merge, post, quietLogger, readyz, resetSimulators, send, sseData, startProxyOn, startStack, waitFor, type Stack } from './harness';

jest.setTimeout(30_000);

const SIMPLE = 'What are your opening hours on weekends?';
const PATH = '/v1/chat/completions';
const toSmall = { 'x-route-tier': 'small' };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    config: {
      allowTierOverride: true,
      limits: { maxBodyBytes: 4096, maxHeaderBytes: 4096 },
      server: { headersTimeoutMs: 1000, requestTimeoutMs: 3000, connectionsCheckingIntervalMs: 200 },
      dispatch: { firstTokenTimeoutMs: 400, idleTimeoutMs: 400, retries: 1, maxAttempts: 3, breaker: { failures: 100, windowMs: 10000, cooldownMs: 300 } },
      router: { embedding: { timeoutMs: 200 }, scorer: { timeoutMs: 200 }, fastPathMargin: 1 },
    },
  });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => resetSimulators(stack));

const calls = (s: Stack['small']) => (s.stats().byPath[PATH] ?? 0);
const upstreamCalls = () => calls(stack.small) + calls(stack.large);
const errorOf = (body: string) => JSON.parse(body).error as { message: string; type: string; param: string | null; code: string | null };

async function metric(url: string, series: string): Promise<number> {
  const text = (await send(url, { method: 'GET', path: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** A raw exchange on a socket: writes `text`, resolves with what came back when the server closes. */
function rawExchange(port: number, text: string, keepWriting?: (s: net.Socket) => void): Promise<{ data: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (c) => (data += c.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ data, closedAfterMs: Date.now() - started }));
    s.write(text);
    keepWriting?.(s);
  });
}

/** Starts a streamed request and hands back the live request and response. */
function openStream(url: string, body: unknown, headers: Record<string, string> = {}): { req: http.ClientRequest; response: Promise<http.IncomingMessage> } {
  const u = new URL(url);
  const payload = JSON.stringify(body);
  const req = http.request({ hostname: u.hostname, port: u.port, method: 'POST', path: PATH, agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers } });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  response.catch(() => undefined);
  req.on('error', () => undefined);
  req.end(payload);
  return { req, response };
}

describe('faults.md rows 1-8: bad input', () => {
  test('1. a body that is not JSON: 400 invalid_request_error, no upstream call', async () => {
    const r = await post(stack.proxy.url, PATH, '{"messages": [');
    expect(r.status).toBe(400);
    expect(errorOf(r.body)).toMatchObject({ type: 'invalid_request_error', param: null });
    expect(upstreamCalls() + stack.scorer.stats().requests).toBe(0);
  });

  test.each<[string, unknown, string | null]>([
    ['body not an object', '[1,2]', null],
    ['messages missing', { model: 'auto' }, 'messages'],
    ['messages empty', { messages: [] }, 'messages'],
    ['messages not an array', { messages: { role: 'user' } }, 'messages'],
    ['a message without a string role', { messages: [{ role: 7, content: 'x' }] }, 'messages[0].role'],
    ['content neither string nor parts', { messages: [{ role: 'user', content: { text: 'x' } }] }, 'messages[0].content'],
    ['max_tokens of the wrong type', { messages: [{ role: 'user', content: 'x' }], max_tokens: 'many' }, 'max_tokens'],
    ['temperature of the wrong type', { messages: [{ role: 'user', content: 'x' }], temperature: [1] }, 'temperature'],
    ['stream of the wrong type', { messages: [{ role: 'user', content: 'x' }], stream: 1 }, 'stream'],
  ])('2. %s: 400 naming the field, no upstream call', async (_n, body, param) => {
    const r = await post(stack.proxy.url, PATH, typeof body === 'string' ? body : JSON.stringify(body));
    expect(r.status).toBe(400);
    const e = errorOf(r.body);
    expect(e.type).toBe('invalid_request_error');
    expect(e.param).toBe(param);
    expect(typeof e.message).toBe('string');
    expect(upstreamCalls()).toBe(0);
  });

  test.each([['text/plain'], [undefined]])('3. content type %s: 415', async (ct) => {
    const headers: Record<string, string> = { authorization: `Bearer ${KEY}` };
    if (ct) headers['content-type'] = ct;
    const r = await send(stack.proxy.url, { path: PATH, headers, body: JSON.stringify(chat(SIMPLE)) });
    expect(r.status).toBe(415);
    expect(errorOf(r.body).type).toBe('invalid_request_error');
    expect(upstreamCalls()).toBe(0);
  });

  test.each([['missing', undefined], ['wrong', 'Bearer sk-nope'], ['malformed', 'Token abc']])('4. %s API key: 401 authentication_error before the body is read', async (_n, auth) => {
    // Announce a body and never send it: the 401 must come anyway.
    const lines = [`POST ${PATH} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', 'Content-Length: 100000'];
    if (auth) lines.push(`Authorization: ${auth}`);
    const { data } = await rawExchange(stack.proxy.port, `${lines.join('\r\n')}\r\n\r\n`);
    expect(data).toMatch(/^HTTP\/1\.1 401 /);
    const body = data.slice(data.indexOf('\r\n\r\n') + 4);
    expect(errorOf(body)).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    expect(upstreamCalls()).toBe(0);
  });

  test('5. Content-Length above the limit: 413 without reading the body, connection closed', async () => {
    const head = `POST ${PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: 10000000\r\n\r\n`;
    const { data } = await rawExchange(stack.proxy.port, head);
    expect(data).toMatch(/^HTTP\/1\.1 413 /);
    expect(data.toLowerCase()).toContain('connection: close');
    expect(upstreamCalls()).toBe(0);
  });

  test('6. a chunked body crossing the limit: 413 (or reset) as soon as the cap is crossed', async () => {
    const u = new URL(stack.proxy.url);
    let written = 0;
    const outcome = await new Promise<string>((resolve) => {
      const req = http.request({ hostname: u.hostname, port: u.port, method: 'POST', path: PATH, agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'transfer-encoding': 'chunked' } });
      req.on('response', (res) => {
        resolve(`status ${res.statusCode}`);
        res.resume();
      });
      req.on('error', () => resolve('reset'));
      req.write('{"messages":[{"role":"user","content":"');
      const timer = setInterval(() => {
        if (written >= 400 || req.destroyed) {
          clearInterval(timer);
          return;
        }
        req.write('x'.repeat(1024));
        written++;
      }, 5);
    });
    expect(['status 413', 'reset']).toContain(outcome);
    // The answer came long before the client finished: the cap is 4 KiB, the client had 400 KiB to send.
    expect(written).toBeLessThan(200);
    expect(upstreamCalls()).toBe(0);
  });

  test('7. oversized headers: 431', async () => {
    const r = await send(stack.proxy.url, { path: PATH, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-big': 'y'.repeat(8000) }, body: '{}' }).catch((e: Error) => ({ status: -1, body: e.message }));
    expect(r.status).toBe(431);
  });

  test('8. header dribbling (slowloris): the connection is closed within a few seconds', async () => {
    let timer: NodeJS.Timeout | undefined;
    const { closedAfterMs } = await rawExchange(stack.proxy.port, `POST ${PATH} HTTP/1.1\r\nHost: x\r\n`, (s) => {
      let i = 0;
      timer = setInterval(() => {
        if (!s.destroyed) s.write(`X-Drip-${i++}: y\r\n`);
      }, 200);
    });
    clearInterval(timer);
    expect(closedAfterMs).toBeLessThan(4000);
  });

  test('8b. an idle keep-alive connection outlives the header timeout (ALB reuses it)', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const u = new URL(stack.proxy.url);
      const once = () =>
        new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
          const req = http.get({ hostname: u.hostname, port: u.port, path: '/healthz', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
          });
          req.on('error', reject);
        });
      expect((await once()).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1600));
      expect(await once()).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });
});

describe('faults.md rows 9-17: tier faults', () => {
  test('9. 500/502/503/504 before any byte: retry with back-off, then fail over; one clean 200 stream', async () => {
    for (const status of [500, 502, 503, 504]) {
      stack.small.resetStats();
      stack.large.resetStats();
      stack.small.pushFault({ kind: 'status', status, times: 2 });
      const r = await post(stack.proxy.url, PATH, chat(SIMPLE, { stream: true }), toSmall);
      expect(r.status).toBe(200);
      expect(r.headers['x-route-tier']).toBe('large');
      expect(r.headers['x-route-reason']).toBe('fallback:failover-from-small');
      const data = sseData(r.body);
      expect(data.pop()).toBe('[DONE]');
      for (const d of data) expect(JSON.parse(d).error).toBeUndefined();
      expect(calls(stack.small)).toBe(2);
      expect(calls(stack.large)).toBe(1);
    }
  });

  test('9b. a single 503 is retried on the same tier', async () => {
    stack.small.pushFault({ kind: 'status', status: 503 });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE), toSmall);
    expect(r.status).toBe(200);
    expect(r.headers['x-route-tier']).toBe('small');
    expect(calls(stack.small)).toBe(2);
    expect(calls(stack.large)).toBe(0);
  });

  test('10. 429 with a Retry-After that fits: retried after it on the same tier', async () => {
    stack.small.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 0 });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE), toSmall);
    expect(r.status).toBe(200);
    expect(r.headers['x-route-tier']).toBe('small');
    expect(calls(stack.small)).toBe(2);
  });

  test('10b. 429 with a long Retry-After: fail over', async () => {
    stack.small.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 30 });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE), toSmall);
    expect(r.status).toBe(200);
    expect(r.headers['x-route-tier']).toBe('large');
    expect(calls(stack.small)).toBe(1);
  });

  test('10c. every tier answering 429: the client gets 429 with Retry-After', async () => {
    stack.small.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 30 });
    stack.large.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 20 });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE), toSmall);
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('20');
    expect(errorOf(r.body).type).toBe('rate_limit_error');
  });

  test('11. a reset before headers: immediate failover', async () => {
    stack.small.pushFault({ kind: 'reset-before-headers' });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE, { stream: true }), toSmall);
    expect(r.status).toBe(200);
    expect(r.headers['x-route-tier']).toBe('large');
    expect(calls(stack.small)).toBe(1);
    expect(sseData(r.body).pop()).toBe('[DONE]');
  });

  test('11b. a refused connection: immediate failover', async () => {
    const dead = await closedPort();
    const doc = merge(baseDoc(`http://127.0.0.1:${dead}`, stack.large.url, stack.embedding.url, stack.scorer.url), { allowTierOverride: true });
    const p = await startProxy(parseProxyConfig(doc), { logger: quietLogger });
    try {
      const r = await post(p.url, PATH, chat(SIMPLE), toSmall);
      expect(r.status).toBe(200);
      expect(r.headers['x-route-tier']).toBe('large');
    } finally {
      await p.close();
    }
  });

  test('12. no headers within the first-token deadline: that attempt is aborted (slot freed), fail over', async () => {
    stack.small.pushFault({ kind: 'no-headers' });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE, { stream: true }), toSmall);
    expect(r.status).toBe(200);
    expect(r.headers['x-route-tier']).toBe('large');
    await waitFor(() => stack.small.stats().aborted === 1 && stack.small.stats().active === 0, 2000);
  });

  test.each([
    ['13. a stall mid-stream past the idle deadline', { kind: 'stall-mid-stream' as const, afterChunks: 2 }, 'upstream_idle_timeout'],
    ['14. a reset mid-stream', { kind: 'reset-mid-stream' as const, afterChunks: 2 }, 'upstream_reset'],
  ])('%s: SSE error event, no [DONE], upstream aborted, no second model spliced in', async (_n, fault, code) => {
    const before = await metric(stack.proxy.url, 'UpstreamErrors{Tier="small"}');
    stack.small.pushFault(fault);
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE, { stream: true }), toSmall);
    expect(r.status).toBe(200);
    const data = sseData(r.body);
    expect(data).not.toContain('[DONE]');
    const last = JSON.parse(data[data.length - 1]);
    expect(last.error).toMatchObject({ type: 'server_error', code });
    expect(data.length).toBeGreaterThan(1);
    expect(calls(stack.large)).toBe(0);
    await waitFor(() => stack.small.stats().active === 0, 2000);
    expect(await metric(stack.proxy.url, 'UpstreamErrors{Tier="small"}')).toBe(before + 1);
  });

  test('13b. the official client sees the mid-stream error as an exception', async () => {
    const OpenAI = (await import('openai')).default;
    const client = new OpenAI({ apiKey: KEY, baseURL: `${stack.proxy.url}/v1`, maxRetries: 0 });
    stack.large.pushFault({ kind: 'reset-mid-stream', afterChunks: 1 });
    const stream = await client.chat.completions.create({ model: 'llama-3.1-70b', stream: true, messages: [{ role: 'user', content: SIMPLE }] });
    await expect(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    ).rejects.toThrow(/mid-answer/);
  });

  test('15. malformed SSE from the simulator: passed through, never a crash', async () => {
    stack.small.pushFault({ kind: 'malformed-sse' });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE, { stream: true, stream_options: { include_usage: true } }), toSmall);
    expect(r.status).toBe(200);
    expect(r.body).toContain('data: {not json\r\n');
    expect(r.body).toContain(': simulator comment line');
    expect(r.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    stack.small.pushFault({ kind: 'malformed-sse' });
    const stripped = await post(stack.proxy.url, PATH, chat(SIMPLE, { stream: true }), toSmall);
    expect(stripped.body).not.toMatch(/"usage":\{/);
    expect(stripped.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  test('15b. bytes split across reads, CRLF, comments and bad JSON reach the client byte for byte', async () => {
    const writes = [': hi\r\n\r\ndata: {"choices":[{"index":0,"delta":{"content":"a"}}]}\r', '\n\r\ndata: {bad', ' json}\n\n', 'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\ndata: [DONE]\n\n'];
    const stub = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let i = 0;
        const t = setInterval(() => {
          if (i === writes.length - 1) {
            clearInterval(t);
            res.end(writes[i]);
          } else res.write(writes[i++]);
        }, 5);
      });
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    const doc = baseDoc(`http://127.0.0.1:${(stub.address() as AddressInfo).port}`, stack.large.url, stack.embedding.url, stack.scorer.url);
    const p = await startProxy(parseProxyConfig(doc), { logger: quietLogger });
    try {
      const r = await post(p.url, PATH, { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: true } });
      expect(r.body).toBe(writes.join(''));
      expect(await metric(p.url, 'OutputTokens{Tier="small"}')).toBe(2);
      const s = await post(p.url, PATH, { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }], stream: true });
      expect(s.body).toBe(writes.slice(0, 3).join('') + 'data: [DONE]\n\n');
    } finally {
      await p.close();
      await new Promise<void>((r) => stub.close(() => r()));
    }
  });

  test.each([400, 404, 422])('16. a tier answering %d: passed through unchanged, no retry, no failover', async (status) => {
    const body = JSON.stringify({ object: 'error', message: `upstream says ${status}`, type: 'BadRequestError', param: 'max_tokens', code: status });
    stack.small.pushFault({ kind: 'status', status, body });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE), toSmall);
    expect(r.status).toBe(status);
    expect(r.body).toBe(body);
    expect(r.headers['x-route-tier']).toBe('small');
    expect(calls(stack.small)).toBe(1);
    expect(calls(stack.large)).toBe(0);
  });

  test('17a. client disconnect before headers: upstream aborted at once, no failover, not a tier failure', async () => {
    const before = await metric(stack.proxy.url, 'UpstreamErrors{Tier="small"}');
    stack.small.pushFault({ kind: 'no-headers' });
    const { req } = openStream(stack.proxy.url, chat(SIMPLE, { stream: true }), toSmall);
    await waitFor(() => stack.small.stats().active === 1, 2000);
    req.destroy();
    await waitFor(() => stack.small.stats().aborted === 1, 2000);
    await new Promise((r) => setTimeout(r, 500));
    expect(calls(stack.large)).toBe(0);
    expect(await metric(stack.proxy.url, 'UpstreamErrors{Tier="small"}')).toBe(before);
    expect((await readyz(stack.proxy.url)).body.tiers.small.breaker).toBe('closed');
    expect(await metric(stack.proxy.url, 'PendingRequests{Tier="small"}')).toBe(0);
  });

  test('17b. client disconnect mid-stream: upstream aborted, not counted', async () => {
    const before = await metric(stack.proxy.url, 'UpstreamErrors{Tier="small"}');
    stack.small.pushFault({ kind: 'stall-mid-stream', afterChunks: 2 });
    const { req, response } = openStream(stack.proxy.url, chat(SIMPLE, { stream: true }), toSmall);
    const res = await response;
    await new Promise<void>((resolve) => res.once('data', () => resolve()));
    const connections = stack.small.stats().connections;
    req.destroy();
    await waitFor(() => stack.small.stats().aborted === 1, 2000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await metric(stack.proxy.url, 'UpstreamErrors{Tier="small"}')).toBe(before);
    expect(calls(stack.large)).toBe(0);
    // The closed connection was replaced at once, and the next stream needs no new one.
    expect(stack.small.stats().connections).toBe(connections + 1);
    const next = await post(stack.proxy.url, PATH, chat(SIMPLE, { stream: true }), toSmall);
    expect(next.status).toBe(200);
    expect(stack.small.stats().connections).toBe(connections + 1);
  });

  test('17c. client disconnect while the prompt is being scored: no tier is called', async () => {
    stack.scorer.pushFault({ kind: 'delay', ms: 150 });
    stack.embedding.pushFault({ kind: 'delay', ms: 150 });
    const { req } = openStream(stack.proxy.url, chat(SIMPLE, { stream: true }));
    await waitFor(() => stack.scorer.stats().active === 1, 2000);
    req.destroy();
    await waitFor(() => stack.scorer.stats().active === 0, 2000);
    await new Promise((r) => setTimeout(r, 300));
    expect(upstreamCalls()).toBe(0);
  });

  test('17d. client disconnect while sending the body: nothing goes upstream', async () => {
    const u = new URL(stack.proxy.url);
    const req = http.request({ hostname: u.hostname, port: u.port, method: 'POST', path: PATH, agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'content-length': '1000' } });
    req.on('error', () => undefined);
    req.write('{"messages":');
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(upstreamCalls() + stack.scorer.stats().requests).toBe(0);
    expect((await send(stack.proxy.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
  });
});

describe('faults.md rows 12b-14b: a stream waiting for its first token', () => {
  // Idle deadline far below the first-token deadline: a queued stream outlives the first only by
  // the second's semantics, and keep-alive comments go out every 100 ms while it waits.
  const DEADLINES = { firstTokenTimeoutMs: 1500, idleTimeoutMs: 150, holdKeepAliveMs: 100 };
  const WAITING = ': waiting for the model\n\n';
  let p: ProxyHandle;
  beforeAll(async () => {
    ({ proxy: p } = await startProxyOn(stack, { allowTierOverride: true, dispatch: { ...DEADLINES, breaker: { failures: 100, windowMs: 10000, cooldownMs: 300 } } }));
  });
  afterAll(async () => {
    await p?.close();
  });

  test('12b. a stream queued at the tier past the idle deadline, within the first-token deadline: keep-alive comment lines, then its whole answer', async () => {
    stack.small.pushFault({ kind: 'queued', ms: 700 });
    const r = await post(p.url, PATH, chat(SIMPLE, { stream: true }), toSmall);
    expect(r.status).toBe(200);
    expect(r.headers['x-route-tier']).toBe('small');
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
    const first = r.body.indexOf('data:');
    const before = r.body.slice(0, first);
    // Only whole comment lines before the answer, none inside it.
    expect(before.split(WAITING).length - 1).toBeGreaterThanOrEqual(2);
    expect(before.split(WAITING).join('')).toBe('');
    expect(r.body.slice(first)).not.toContain(': waiting');
    const data = sseData(r.body);
    expect(data.pop()).toBe('[DONE]');
    expect(data.filter((d) => d.includes('"error"'))).toEqual([]);
    expect(calls(stack.large)).toBe(0);
  });

  test('12c. the official client reads a queued stream through the keep-alive comments', async () => {
    const OpenAI = (await import('openai')).default;
    const client = new OpenAI({ apiKey: KEY, baseURL: `${p.url}/v1`, maxRetries: 0 });
    stack.small.pushFault({ kind: 'queued', ms: 400 });
    const stream = await client.chat.completions.create({ model: 'llama-3.1-8b', stream: true, messages: [{ role: 'user', content: SIMPLE }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text.length).toBeGreaterThan(0);
  });

  test('12d. no first token within the first-token deadline: SSE error event, no [DONE], the tier connection closed, no failover', async () => {
    const errorsBefore = await metric(p.url, 'UpstreamErrors{Tier="small"}');
    stack.small.pushFault({ kind: 'queued', ms: 10_000 });
    const started = Date.now();
    const r = await post(p.url, PATH, chat(SIMPLE, { stream: true }), toSmall);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(DEADLINES.firstTokenTimeoutMs - 100);
    expect(took).toBeLessThan(DEADLINES.firstTokenTimeoutMs + 3000);
    expect(r.status).toBe(200);
    expect(r.body.startsWith(WAITING)).toBe(true);
    const data = sseData(r.body);
    expect(data).not.toContain('[DONE]');
    expect(JSON.parse(data[data.length - 1]).error).toMatchObject({ type: 'server_error', code: 'upstream_first_token_timeout' });
    // The proxy closed the tier's connection: vLLM aborts the request and frees its queue slot.
    await waitFor(() => stack.small.stats().aborted === 1 && stack.small.stats().active === 0, 2000);
    expect(calls(stack.large)).toBe(0);
    expect(await metric(p.url, 'UpstreamErrors{Tier="small"}')).toBe(errorsBefore + 1);
  });

  test('12e. a tier that sends no response headers is given up at the response-headers deadline, long before the first-token deadline, and the request fails over; a non-streamed answer is not held to it', async () => {
    const { proxy } = await startProxyOn(stack, { allowTierOverride: true, dispatch: { responseHeadersTimeoutMs: 200, firstTokenTimeoutMs: 5000, idleTimeoutMs: 150 } });
    try {
      stack.small.pushFault({ kind: 'no-headers' });
      const started = Date.now();
      const r = await post(proxy.url, PATH, chat(SIMPLE, { stream: true }), toSmall);
      expect(Date.now() - started).toBeLessThan(2500);
      expect(r.status).toBe(200);
      expect(r.headers['x-route-tier']).toBe('large');
      expect(sseData(r.body).pop()).toBe('[DONE]');
      await waitFor(() => stack.small.stats().aborted === 1 && stack.small.stats().active === 0, 2000);
      // vLLM sends a non-streamed answer's headers with the answer: its wait is nonStreamTimeoutMs.
      stack.small.pushFault({ kind: 'queued', ms: 500 });
      const plain = await post(proxy.url, PATH, chat(SIMPLE), toSmall);
      expect(plain.status).toBe(200);
      expect(plain.headers['x-route-tier']).toBe('small');
    } finally {
      await proxy.close();
    }
  });

  test('13c. after the first token the idle deadline applies between chunks, and no comment line is added', async () => {
    stack.small.pushFault({ kind: 'stall-mid-stream', afterChunks: 2 });
    const started = Date.now();
    const r = await post(p.url, PATH, chat(SIMPLE, { stream: true }), toSmall);
    expect(Date.now() - started).toBeLessThan(DEADLINES.firstTokenTimeoutMs);
    expect(r.status).toBe(200);
    expect(r.body.slice(r.body.indexOf('data:'))).not.toContain(': waiting');
    const data = sseData(r.body);
    expect(data).not.toContain('[DONE]');
    expect(JSON.parse(data[data.length - 1]).error).toMatchObject({ type: 'server_error', code: 'upstream_idle_timeout' });
    await waitFor(() => stack.small.stats().active === 0, 2000);
  });

  test('14b. once keep-alive comments went out, a tier reset before the first token ends the stream with an SSE error: no failover', async () => {
    // A tier that sends its headers, stays silent past two keep-alives, then resets.
    const stub = net.createServer((sock) => {
      sock.once('data', () => {
        sock.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n');
        setTimeout(() => sock.destroy(), 350);
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    const doc = merge(baseDoc(`http://127.0.0.1:${(stub.address() as AddressInfo).port}`, stack.large.url, stack.embedding.url, stack.scorer.url), { allowTierOverride: true, dispatch: DEADLINES });
    const q = await startProxy(parseProxyConfig(doc), { logger: quietLogger });
    try {
      const r = await post(q.url, PATH, chat(SIMPLE, { stream: true }), toSmall);
      expect(r.status).toBe(200);
      expect(r.headers['x-route-tier']).toBe('small');
      expect(r.body.startsWith(WAITING)).toBe(true);
      const data = sseData(r.body);
      expect(data).toHaveLength(1);
      expect(JSON.parse(data[0]).error).toMatchObject({ type: 'server_error', code: 'upstream_reset' });
      expect(calls(stack.large)).toBe(0);
    } finally {
      await q.close();
      await new Promise<void>((r) => stub.close(() => r()));
    }
  });
});

describe('faults.md rows 18-20: scoring faults', () => {
  async function fallbacks(reason: string): Promise<number> {
    return metric(stack.proxy.url, `ScoringFallbacks{Reason="${reason}"}`);
  }

  test.each([
    ['slow', { kind: 'delay' as const, ms: 600 }, 'fallback:embedding-timeout'],
    ['down', { kind: 'status' as const, status: 503 }, 'fallback:embedding-error'],
    ['garbage', { kind: 'garbage' as const }, 'fallback:embedding-garbage'],
  ])('18. embedding server %s: the self-rating decides alone, counted', async (_n, fault, reason) => {
    const before = await fallbacks('EmbeddingFailed');
    stack.embedding.pushFault(fault);
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE));
    expect(r.status).toBe(200);
    expect(r.headers['x-route-reason']).toBe(reason);
    expect(r.headers['x-route-tier']).toBe('small');
    expect(await fallbacks('EmbeddingFailed')).toBe(before + 1);
  });

  test.each([
    ['slow', { kind: 'delay' as const, ms: 600 }, 'fallback:scorer-timeout'],
    ['down', { kind: 'status' as const, status: 500 }, 'fallback:scorer-error'],
    ['answering garbage', { kind: 'garbage' as const }, 'fallback:scorer-garbage'],
  ])('19. scorer LLM %s: the embedding decides alone, counted', async (_n, fault, reason) => {
    const before = await fallbacks('ScorerFailed');
    stack.scorer.pushFault(fault);
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE));
    expect(r.status).toBe(200);
    expect(r.headers['x-route-reason']).toBe(reason);
    expect(Number(r.headers['x-route-score'])).toBeGreaterThan(0);
    expect(await fallbacks('ScorerFailed')).toBe(before + 1);
  });

  test('20. both scoring servers down: the configured fallback tier serves, counted', async () => {
    const before = await fallbacks('BothFailed');
    stack.embedding.pushFault({ kind: 'status', status: 503 });
    stack.scorer.pushFault({ kind: 'status', status: 503 });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE));
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({ 'x-route-tier': 'large', 'x-route-reason': 'fallback:scoring-unavailable', 'x-route-score': 'n/a' });
    expect(await fallbacks('BothFailed')).toBe(before + 1);
  });

  test('20b. the fallback tier is configurable', async () => {
    const extra = await startProxyOn(stack, { router: { fallbackTier: 'small' } });
    try {
      stack.embedding.pushFault({ kind: 'status', status: 503 });
      stack.scorer.pushFault({ kind: 'status', status: 503 });
      const r = await post(extra.proxy.url, PATH, chat(SIMPLE));
      expect(r.headers['x-route-tier']).toBe('small');
    } finally {
      await extra.proxy.close();
    }
  });

  test('18b. embedding server down at start-up: the scorer decides alone until the exemplars are embedded', async () => {
    const dead = await closedPort();
    const doc = baseDoc(stack.small.url, stack.large.url, `http://127.0.0.1:${dead}`, stack.scorer.url);
    const p = await startProxy(parseProxyConfig(doc), { logger: quietLogger });
    try {
      const r = await post(p.url, PATH, chat(SIMPLE));
      expect(r.status).toBe(200);
      expect(r.headers['x-route-reason']).toBe('fallback:embedding-not-ready');
      expect((await readyz(p.url)).body.router.embedding).toMatchObject({ reachable: false, centroids: { ready: false } });
    } finally {
      await p.close();
    }
  });
});

describe('faults.md rows 21-24: nothing can serve', () => {
  let dead: ProxyHandle;
  beforeAll(async () => {
    const [a, b] = [await closedPort(), await closedPort()];
    dead = await startProxy(parseProxyConfig(baseDoc(`http://127.0.0.1:${a}`, `http://127.0.0.1:${b}`, stack.embedding.url, stack.scorer.url)), { logger: quietLogger });
  });
  afterAll(async () => {
    await dead?.close();
  });

  test('21. every tier down: a fast 503 all_tiers_unavailable, well within the first-token deadline', async () => {
    const started = Date.now();
    const r = await post(dead.url, PATH, chat(SIMPLE, { stream: true }));
    expect(Date.now() - started).toBeLessThan(stack.config.dispatch.firstTokenTimeoutMs);
    expect(r.status).toBe(503);
    expect(errorOf(r.body)).toMatchObject({ type: 'server_error', code: 'all_tiers_unavailable' });
    expect(r.headers['x-route-tier']).toBeDefined();
    expect(await metric(dead.url, 'Proxy5xx')).toBeGreaterThanOrEqual(1);
  });

  test('24. /healthz stays 200 while every tier is down; /readyz is 503 and says which are unreachable', async () => {
    expect((await send(dead.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
    const r = await readyz(dead.url);
    expect(r.status).toBe(503);
    expect(r.body.ready).toBe(false);
    expect(r.body.tiers.small.reachable).toBe(false);
    expect(r.body.tiers.large.reachable).toBe(false);
    expect(r.body.router.scorer.reachable).toBe(true);
  });

  test('22. a tier that keeps failing: the breaker opens, the tier is skipped, then one half-open probe', async () => {
    const extra = await startProxyOn(stack, { allowTierOverride: true, dispatch: { retries: 0, breaker: { failures: 2, windowMs: 10000, cooldownMs: 300 } } });
    try {
      const url = extra.proxy.url;
      stack.small.pushFault({ kind: 'status', status: 500, times: 2 });
      for (let i = 0; i < 2; i++) expect((await post(url, PATH, chat(SIMPLE), toSmall)).headers['x-route-tier']).toBe('large');
      expect((await readyz(url)).body.tiers.small.breaker).toBe('open');
      stack.small.resetStats();
      const skipped = await post(url, PATH, chat(SIMPLE), toSmall);
      expect(skipped.headers['x-route-tier']).toBe('large');
      expect(calls(stack.small)).toBe(0);
      await new Promise((r) => setTimeout(r, 350));
      // Half-open: of two concurrent requests only one probes the tier.
      stack.small.pushFault({ kind: 'delay', ms: 200 });
      const [a, b] = await Promise.all([post(url, PATH, chat(SIMPLE), toSmall), post(url, PATH, chat(SIMPLE), toSmall)]);
      expect([a.headers['x-route-tier'], b.headers['x-route-tier']].sort()).toEqual(['large', 'small']);
      expect(calls(stack.small)).toBe(1);
      expect((await readyz(url)).body.tiers.small.breaker).toBe('closed');
      expect((await post(url, PATH, chat(SIMPLE), toSmall)).headers['x-route-tier']).toBe('small');
    } finally {
      await extra.proxy.close();
    }
  });

  test('21b. every breaker open: 503 at once, no upstream attempt', async () => {
    const extra = await startProxyOn(stack, { allowTierOverride: true, dispatch: { retries: 0, maxAttempts: 2, breaker: { failures: 1, windowMs: 10000, cooldownMs: 60000 } } });
    try {
      stack.small.pushFault({ kind: 'status', status: 500 });
      stack.large.pushFault({ kind: 'status', status: 500 });
      expect((await post(extra.proxy.url, PATH, chat(SIMPLE), toSmall)).status).toBe(503);
      stack.small.resetStats();
      stack.large.resetStats();
      const r = await post(extra.proxy.url, PATH, chat(SIMPLE), toSmall);
      expect(r.status).toBe(503);
      expect(errorOf(r.body).code).toBe('all_tiers_unavailable');
      expect(upstreamCalls()).toBe(0);
    } finally {
      await extra.proxy.close();
    }
  });

  test('23. every tier failing at once: total attempts per request are capped', async () => {
    stack.small.pushFault({ kind: 'status', status: 500, times: 10 });
    stack.large.pushFault({ kind: 'status', status: 500, times: 10 });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE), toSmall);
    expect(r.status).toBe(503);
    expect(upstreamCalls()).toBe(stack.config.dispatch.maxAttempts);
  });
});

describe('shutdown', () => {
  test('a stream still open after the grace period is cut, and its request line is written before the stopped line', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        cb();
      },
    });
    const extra = await startProxyOn(stack, { server: { shutdownGraceMs: 100 } }, { logger: pino({ level: 'info' }, sink) });
    stack.small.pushFault({ kind: 'stall-mid-stream', afterChunks: 2 });
    const { response } = openStream(extra.proxy.url, chat(SIMPLE, { stream: true }), { ...toSmall, 'x-request-id': 'cut-at-shutdown' });
    const res = await response;
    res.on('error', () => undefined);
    await new Promise<void>((resolve) => res.once('data', () => resolve()));
    await extra.proxy.close();
    const request = lines.findIndex((l) => l.includes('"requestId":"cut-at-shutdown"') && l.includes('"msg":"request"'));
    const stopped = lines.findIndex((l) => l.includes('routing proxy stopped'));
    expect(request).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(lines[request])).toMatchObject({ outcome: 'client-gone', tier: 'small' });
    expect(stopped).toBeGreaterThan(request);
    expect(JSON.parse(lines[stopped])).toMatchObject({ cutStreams: 1 });
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
