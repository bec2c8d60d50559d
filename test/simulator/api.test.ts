import OpenAI from 'openai';
import { SimulatorHandle, startVllmSimulator } from '../../tools/simulator/vllm-simulator';
import { request, sseData, sseJson } from './http-helpers';

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'llama-3.1-8b',
  messages: [{ role: 'user', content: 'Say something short please' }],
  ...extra,
});

describe('vLLM simulator OpenAI API', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startVllmSimulator({ model: 'served-model', chunks: 6, chunkIntervalMs: 1 });
  });
  afterAll(() => sim.close());
  beforeEach(() => {
    sim.clearFaults();
    sim.resetStats();
  });

  test('handle exposes a loopback server root', () => {
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
    expect(sim.port).toBeGreaterThan(0);
  });

  test('non-streamed chat answer has the vLLM shape and echoes the requested model', async () => {
    const res = await request(sim.url, '/v1/chat/completions', { body: chat() });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const body = JSON.parse(res.text);
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.object).toBe('chat.completion');
    expect(typeof body.created).toBe('number');
    expect(body.model).toBe('llama-3.1-8b');
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0].message.role).toBe('assistant');
    expect(body.choices[0].message.content.length).toBeGreaterThan(0);
    expect(body.choices[0].finish_reason).toBe('stop');
    expect(body.usage.completion_tokens).toBe(6);
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + 6);
  });

  test('a request without a model gets the served model name', async () => {
    const res = await request(sim.url, '/v1/chat/completions', { body: { messages: [{ role: 'user', content: 'hi' }] } });
    expect(JSON.parse(res.text).model).toBe('served-model');
  });

  test('streamed chat: role chunk, one chunk per token, finish chunk, [DONE], no usage chunk by default', async () => {
    const res = await request(sim.url, '/v1/chat/completions', { body: chat({ stream: true }) });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const data = sseData(res.text);
    expect(data[data.length - 1]).toBe('[DONE]');
    expect(res.text.endsWith('data: [DONE]\n\n')).toBe(true);
    const frames = sseJson(res.text);
    expect(frames).toHaveLength(1 + 6 + 1);
    expect(frames[0].choices[0].delta.role).toBe('assistant');
    const content = frames.slice(1, 7);
    for (const f of content) {
      expect(f.object).toBe('chat.completion.chunk');
      expect(f.model).toBe('llama-3.1-8b');
      expect(f.id).toBe(frames[0].id);
      expect(typeof f.choices[0].delta.content).toBe('string');
      expect(f.choices[0].finish_reason).toBeNull();
    }
    expect(frames[7].choices[0].finish_reason).toBe('stop');
    expect(frames.some((f) => f.usage)).toBe(false);
  });

  test('stream_options.include_usage adds one usage chunk with empty choices before [DONE]', async () => {
    const res = await request(sim.url, '/v1/chat/completions', {
      body: chat({ stream: true, stream_options: { include_usage: true } }),
    });
    const frames = sseJson(res.text);
    const last = frames[frames.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: expect.any(Number), completion_tokens: 6, total_tokens: last.usage.prompt_tokens + 6 });
    expect(frames.filter((f) => f.usage)).toHaveLength(1);
    expect(sseData(res.text).pop()).toBe('[DONE]');
  });

  test('max_tokens below the configured chunks caps the answer and finishes with length', async () => {
    const res = await request(sim.url, '/v1/chat/completions', { body: chat({ stream: true, max_tokens: 3 }) });
    const frames = sseJson(res.text);
    expect(frames.filter((f) => typeof f.choices[0]?.delta?.content === 'string' && f.choices[0].delta.content !== '')).toHaveLength(3);
    expect(frames[frames.length - 1].choices[0].finish_reason).toBe('length');
  });

  test('completions endpoint streams text chunks and answers non-streamed', async () => {
    const streamed = await request(sim.url, '/v1/completions', { body: { model: 'm', prompt: 'Once upon', stream: true } });
    const frames = sseJson(streamed.text);
    expect(frames).toHaveLength(6 + 1);
    expect(frames[0].object).toBe('text_completion');
    expect(typeof frames[0].choices[0].text).toBe('string');
    expect(frames[6].choices[0].finish_reason).toBe('stop');
    const plain = JSON.parse((await request(sim.url, '/v1/completions', { body: { model: 'm', prompt: 'Once upon' } })).text);
    expect(plain.object).toBe('text_completion');
    expect(plain.id).toMatch(/^cmpl-/);
    expect(plain.usage.completion_tokens).toBe(6);
  });

  test('bad JSON and missing messages are 400 with an OpenAI-style error', async () => {
    const bad = await request(sim.url, '/v1/chat/completions', { rawBody: '{"messages": [' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toMatchObject({ type: 'BadRequestError', code: 400 });
    const missing = await request(sim.url, '/v1/chat/completions', { body: { model: 'x' } });
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.text).error.param).toBe('messages');
    const noPrompt = await request(sim.url, '/v1/completions', { body: { model: 'x' } });
    expect(noPrompt.status).toBe(400);
    const badStream = await request(sim.url, '/v1/chat/completions', { body: chat({ stream: 'yes' }) });
    expect(badStream.status).toBe(400);
  });

  test('a generating tier refuses embeddings like vLLM', async () => {
    const res = await request(sim.url, '/v1/embeddings', { body: { input: 'hi' } });
    expect(res.status).toBe(404);
  });

  test('/v1/models lists the served model and /health answers 200', async () => {
    const models = JSON.parse((await request(sim.url, '/v1/models')).text);
    expect(models.data.map((m: { id: string }) => m.id)).toEqual(['served-model']);
    expect((await request(sim.url, '/health')).status).toBe(200);
  });

  test('stats count requests by path and keep the last 20 bodies', async () => {
    for (let i = 0; i < 22; i++) {
      await request(sim.url, '/v1/chat/completions', { body: chat({ max_tokens: 1, user: `u${i}` }) });
    }
    await request(sim.url, '/health');
    const s = sim.stats();
    expect(s.requests).toBe(22);
    expect(s.byPath['/v1/chat/completions']).toBe(22);
    expect(s.byPath['/health']).toBe(1);
    expect(s.completed).toBe(22);
    expect(s.active).toBe(0);
    expect(s.lastBodies).toHaveLength(20);
    expect((s.lastBodies[0] as { user: string }).user).toBe('u2');
    expect((s.lastBodies[19] as { user: string }).user).toBe('u21');
    sim.resetStats();
    expect(sim.stats()).toMatchObject({ requests: 0, byPath: {}, completed: 0, lastBodies: [] });
  });

  test('control endpoints report and reset stats over HTTP', async () => {
    await request(sim.url, '/v1/chat/completions', { body: chat() });
    const stats = JSON.parse((await request(sim.url, '/_sim/stats')).text);
    expect(stats.byPath['/v1/chat/completions']).toBe(1);
    expect(stats.byPath['/_sim/stats']).toBeUndefined();
    await request(sim.url, '/_sim/stats/reset', { method: 'POST' });
    expect(sim.stats().requests).toBe(0);
  });

  test('the official openai client streams and parses answers from the simulator', async () => {
    const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'llama-3.1-8b',
      messages: [{ role: 'user', content: 'hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBe(6);
    const plain = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hello' }] });
    expect(plain.choices[0].message.content).toBe(text);
  });
});
