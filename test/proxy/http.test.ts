import * as http from 'node:http';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import pino from 'pino';
import { KEY, chat, post, readyz, send, sseData, resetSimulators, startProxyOn, startStack, type Stack } from './harness';

jest.setTimeout(30_000);

const SIMPLE = 'What are your opening hours on weekends?';
const COMPLEX = 'Design a distributed, fault-tolerant consensus architecture for concurrent multi-region writes, and analyze the scalability trade-offs and invariants step by step.';

let stack: Stack;
let logLines: string[];
beforeAll(async () => {
  logLines = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  stack = await startStack({ deps: { logger: pino({ level: 'debug' }, sink) } });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => resetSimulators(stack));

const client = () => new OpenAI({ apiKey: KEY, baseURL: `${stack.proxy.url}/v1`, maxRetries: 0, timeout: 10_000 });

describe('OpenAI-compatible endpoints through the official client', () => {
  test('non-streamed chat: the answer, its usage and the route headers', async () => {
    const { data, response } = await client().chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: SIMPLE }] }).withResponse();
    expect(data.choices[0].message.content).toBe('This is a simulated answer');
    expect(data.usage?.completion_tokens).toBe(5);
    expect(response.headers.get('x-route-tier')).toBe('small');
    expect(['score', 'fast-path']).toContain(response.headers.get('x-route-reason'));
    expect(Number(response.headers.get('x-route-score'))).toBeLessThan(0.65);
  });

  test('streamed chat: every chunk, no usage chunk unless asked', async () => {
    const { data: stream, response } = await client().chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: SIMPLE }] }).withResponse();
    expect(response.headers.get('x-route-tier')).toBe('small');
    let text = '';
    let usageSeen = false;
    for await (const c of stream) {
      if (c.usage) usageSeen = true;
      text += c.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe('This is a simulated answer');
    expect(usageSeen).toBe(false);
    // The proxy asked the tier for usage anyway, to count tokens.
    expect((stack.small.stats().lastBodies.at(-1) as any).stream_options).toEqual({ include_usage: true });
  });

  test('streamed chat with include_usage: the usage chunk reaches the client', async () => {
    const stream = await client().chat.completions.create({ model: 'auto', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: SIMPLE }] });
    let usage: any;
    for await (const c of stream) if (c.usage) usage = c.usage;
    expect(usage).toMatchObject({ completion_tokens: 5 });
  });

  test('legacy completions, streamed and not', async () => {
    const c = await client().completions.create({ model: 'auto', prompt: SIMPLE, max_tokens: 8 });
    expect(c.choices[0].text.length).toBeGreaterThan(0);
    const s = await client().completions.create({ model: 'auto', prompt: SIMPLE, max_tokens: 8, stream: true });
    let n = 0;
    for await (const chunk of s) n += chunk.choices.length;
    expect(n).toBeGreaterThan(0);
  });

  test('on one keep-alive connection, a request with a wrong key after one with the right key is refused', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (s) => sockets.add(s));
    try {
      const headers = (key: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${key}` });
      const body = JSON.stringify(chat(SIMPLE));
      expect((await send(stack.proxy.url, { path: '/v1/chat/completions', headers: headers(KEY), body, agent })).status).toBe(200);
      expect((await send(stack.proxy.url, { path: '/v1/chat/completions', headers: headers(KEY), body, agent })).status).toBe(200);
      expect((await send(stack.proxy.url, { path: '/v1/chat/completions', headers: headers(`${KEY}x`), body, agent })).status).toBe(401);
      // The three requests shared one connection.
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  test('GET /v1/models lists auto and every tier model; it needs a key', async () => {
    const models = await client().models.list();
    expect(models.data.map((m) => m.id)).toEqual(['auto', 'llama-3.1-8b', 'llama-3.1-70b']);
    expect((await send(stack.proxy.url, { method: 'GET', path: '/v1/models' })).status).toBe(401);
  });
});

describe('routing', () => {
  test('a complex prompt goes to the large tier with both scores, a simple one to the small tier', async () => {
    const hard = await post(stack.proxy.url, '/v1/chat/completions', chat(COMPLEX));
    expect(hard.status).toBe(200);
    expect(hard.headers['x-route-tier']).toBe('large');
    expect(['score', 'fast-path']).toContain(hard.headers['x-route-reason']);
    expect(Number(hard.headers['x-route-score'])).toBeGreaterThanOrEqual(0.65);
    expect(JSON.parse(hard.body).model).toBe('llama-3.1-70b');
    const easy = await post(stack.proxy.url, '/v1/chat/completions', chat(SIMPLE));
    expect(easy.headers['x-route-tier']).toBe('small');
    expect(stack.large.stats().byPath['/v1/chat/completions']).toBe(1);
    expect(stack.small.stats().byPath['/v1/chat/completions']).toBe(1);
  });

  test('x-route-confidence is the distance of the score from the tier boundary, n/a when no score decided', async () => {
    const easy = await post(stack.proxy.url, '/v1/chat/completions', chat(SIMPLE));
    const score = Number(easy.headers['x-route-score']);
    expect(Number(easy.headers['x-route-confidence'])).toBeCloseTo(Math.abs(score - 0.65), 3);
    const named = await post(stack.proxy.url, '/v1/chat/completions', { ...chat(SIMPLE), model: 'llama-3.1-70b' });
    expect(named.headers).toMatchObject({ 'x-route-reason': 'override', 'x-route-confidence': 'n/a' });
  });

  test('the scorer gets the instructions as system message and the text as the last user message, at temperature 0 with logprobs', async () => {
    await post(stack.proxy.url, '/v1/chat/completions', { messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: SIMPLE }] });
    const body = stack.scorer.stats().lastBodies.at(-1) as any;
    expect(body).toMatchObject({ model: 'qwen2.5-1.5b-instruct', temperature: 0, max_tokens: 2, logprobs: true, top_logprobs: 10 });
    expect(body.messages[0].role).toBe('system');
    expect(body.messages.at(-1)).toEqual({ role: 'user', content: `You are terse.\n\n${SIMPLE}` });
    const emb = stack.embedding.stats().lastBodies.at(-1) as any;
    expect(emb.input).toEqual([`search_query: You are terse.\n\n${SIMPLE}`]);
    expect(emb.encoding_format).toBe('base64');
    // The tier gets its own model name in place of "auto" (or no model at all).
    expect((stack.small.stats().lastBodies.at(-1) as any).model).toBe('llama-3.1-8b');
  });

  test('float-encoded embeddings work the same', async () => {
    const extra = await startProxyOn(stack, { router: { embedding: { encodingFormat: 'float' } } });
    try {
      const r = await post(extra.proxy.url, '/v1/chat/completions', chat(COMPLEX));
      expect(r.headers['x-route-tier']).toBe('large');
      expect((stack.embedding.stats().lastBodies.at(-1) as any).encoding_format).toBeUndefined();
    } finally {
      await extra.proxy.close();
    }
  });

  test('only the first truncateChars characters are scored', async () => {
    await post(stack.proxy.url, '/v1/chat/completions', chat(`${SIMPLE} ${'x'.repeat(5000)}`));
    const body = stack.scorer.stats().lastBodies.at(-1) as any;
    expect(body.messages.at(-1).content).toHaveLength(2048);
  });

  test('code or math forces the large tier without any scoring call (keyword)', async () => {
    const r = await post(stack.proxy.url, '/v1/chat/completions', chat('What does this print?\n```python\nprint(1)\n```'));
    expect(r.headers['x-route-tier']).toBe('large');
    expect(r.headers['x-route-reason']).toBe('keyword');
    expect(r.headers['x-route-score']).toBe('n/a');
    expect(stack.scorer.stats().requests + stack.embedding.stats().requests).toBe(0);
  });

  test("naming a tier's model goes straight to that tier, body unchanged, no scoring", async () => {
    const body = { model: 'llama-3.1-70b', messages: [{ role: 'user', content: SIMPLE }], stream: true, temperature: 0.3, seed: 7 };
    const r = await post(stack.proxy.url, '/v1/chat/completions', body);
    expect(r.headers).toMatchObject({ 'x-route-tier': 'large', 'x-route-reason': 'override', 'x-route-score': 'n/a' });
    expect(sseData(r.body).pop()).toBe('[DONE]');
    expect(stack.large.stats().lastBodies.at(-1)).toEqual({ ...body, stream_options: { include_usage: true } });
    expect(stack.scorer.stats().requests + stack.embedding.stats().requests).toBe(0);
  });

  test('an unknown model is a 404 naming the model field', async () => {
    const r = await post(stack.proxy.url, '/v1/chat/completions', { ...chat(SIMPLE), model: 'gpt-9' });
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).error).toMatchObject({ type: 'invalid_request_error', param: 'model', code: 'model_not_found' });
  });

  test('x-route-tier is ignored unless allowTierOverride, then honoured', async () => {
    const ignored = await post(stack.proxy.url, '/v1/chat/completions', chat(SIMPLE), { 'x-route-tier': 'large' });
    expect(ignored.headers['x-route-tier']).toBe('small');
    const extra = await startProxyOn(stack, { allowTierOverride: true });
    try {
      const r = await post(extra.proxy.url, '/v1/chat/completions', chat(SIMPLE), { 'x-route-tier': 'large' });
      expect(r.headers).toMatchObject({ 'x-route-tier': 'large', 'x-route-reason': 'override' });
      const bad = await post(extra.proxy.url, '/v1/chat/completions', chat(SIMPLE), { 'x-route-tier': 'huge' });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.body).error.param).toBe('x-route-tier');
    } finally {
      await extra.proxy.close();
    }
  });

  test('a session once on the large tier stays there; other sessions are unaffected', async () => {
    const first = await post(stack.proxy.url, '/v1/chat/completions', chat(COMPLEX), { 'x-session-id': 'conv-1' });
    expect(first.headers['x-route-tier']).toBe('large');
    const second = await post(stack.proxy.url, '/v1/chat/completions', chat(SIMPLE), { 'x-session-id': 'conv-1' });
    expect(second.headers).toMatchObject({ 'x-route-tier': 'large', 'x-route-reason': 'session' });
    const other = await post(stack.proxy.url, '/v1/chat/completions', chat(SIMPLE), { 'x-session-id': 'conv-2' });
    expect(other.headers['x-route-tier']).toBe('small');
  });

  test('the request id is honoured and echoed; one is generated otherwise', async () => {
    const r = await post(stack.proxy.url, '/v1/chat/completions', chat(SIMPLE), { 'x-request-id': 'abc-123' });
    expect(r.headers['x-request-id']).toBe('abc-123');
    const g = await post(stack.proxy.url, '/v1/chat/completions', chat(SIMPLE));
    expect(g.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
  });

  test('the request id travels with the scoring calls and the tier request', async () => {
    const r = await post(stack.proxy.url, '/v1/chat/completions', chat(SIMPLE), { 'x-request-id': 'trace-42' });
    expect(r.status).toBe(200);
    expect(stack.embedding.stats().lastRequestIds).toContain('trace-42');
    expect(stack.scorer.stats().lastRequestIds).toContain('trace-42');
    const tier = r.headers['x-route-tier'] === 'small' ? stack.small : stack.large;
    expect(tier.stats().lastRequestIds).toContain('trace-42');
  });
});

describe('health, readiness and metrics', () => {
  test('/healthz is 200 and /readyz lists tiers and scoring servers', async () => {
    expect((await send(stack.proxy.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
    const r = await readyz(stack.proxy.url);
    expect(r.status).toBe(200);
    expect(r.body.tiers.small).toMatchObject({ reachable: true, breaker: 'closed' });
    expect(r.body.tiers.large).toMatchObject({ reachable: true });
    expect(r.body.router.embedding).toMatchObject({ reachable: true, centroids: { ready: true } });
    expect(r.body.router.scorer).toMatchObject({ reachable: true });
  });

  test('/readyz names an unhealthy tier and stays 200 while another tier serves', async () => {
    stack.small.pushFault({ kind: 'unhealthy' });
    const r = await readyz(stack.proxy.url);
    expect(r.status).toBe(200);
    expect(r.body.tiers.small).toMatchObject({ reachable: false, status: 503 });
  });

  test('/metrics serves the contract series in Prometheus text', async () => {
    await post(stack.proxy.url, '/v1/chat/completions', chat(SIMPLE, { stream: true }));
    const m = (await send(stack.proxy.url, { method: 'GET', path: '/metrics' })).body;
    expect(m).toMatch(/^# TYPE PendingRequests gauge$/m);
    expect(m).toMatch(/^PendingRequests\{Tier="small"\} 0$/m);
    expect(m).toMatch(/^RoutedRequests\{Tier="small"\} [1-9]\d*$/m);
    expect(m).toMatch(/^OutputTokens\{Tier="small"\} [1-9]\d*$/m);
    expect(m).toMatch(/^EstimatedCostUsd\{Tier="small"\} [0-9.e-]+$/m);
    expect(m).toMatch(/^TimeToFirstTokenMs_count\{Tier="small"\} [1-9]\d*$/m);
    expect(m).toMatch(/^EndToEndLatencyMs_bucket\{Tier="small",le="\+Inf"\} [1-9]\d*$/m);
    expect(m).toMatch(/^RouterLatencyMs_count [1-9]\d*$/m);
    expect(m).toMatch(/^RouteScore_sum [0-9.]+$/m);
    expect(m).toMatch(/^ScoringFallbacks\{Reason="BothFailed"\} \d+$/m);
    expect(m).toMatch(/^Proxy5xx \d+$/m);
  });

  test('logs carry request ids but neither prompt text nor keys', async () => {
    await post(stack.proxy.url, '/v1/chat/completions', chat('secret-prompt-words here'), { 'x-request-id': 'log-check-1' });
    await post(stack.proxy.url, '/v1/chat/completions', chat('x'), { authorization: 'Bearer sk-wrong-key-zzz' });
    await new Promise((r) => setTimeout(r, 50));
    const all = logLines.join('');
    expect(all).toContain('"requestId":"log-check-1"');
    expect(all).not.toContain('secret-prompt-words');
    expect(all).not.toContain(KEY);
    expect(all).not.toContain('sk-wrong-key-zzz');
  });
});
