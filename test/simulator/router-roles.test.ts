import OpenAI from 'openai';
import { SimulatorHandle, startVllmSimulator } from '../../tools/simulator/vllm-simulator';
import { cosine, embedText, promptToRate, rateComplexity } from '../../tools/simulator/scoring';
import { request, sseJson } from './http-helpers';

const SIMPLE = [
  'What are your opening hours on Sunday?',
  'Reset my password please',
  'Convert this date to ISO format: March 3, 2024',
  'What is the capital of France?',
];
const HARD = [
  'Prove that the greedy algorithm is optimal for interval scheduling and derive its time complexity.',
  'Design a distributed rate limiter for a multi-region API and explain the concurrency trade-offs.',
  'Refactor this module into a clean architecture with dependency inversion and describe each step.',
  'Derive the closed form of the recurrence T(n) = 2T(n/2) + n log n and prove it by induction.',
];

describe('scoring heuristics', () => {
  test('every hard prompt rates above every simple prompt, within 0-10', () => {
    const simple = SIMPLE.map(rateComplexity);
    const hard = HARD.map(rateComplexity);
    for (const r of [...simple, ...hard]) {
      expect(Number.isInteger(r)).toBe(true);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(10);
    }
    expect(Math.max(...simple)).toBeLessThan(Math.min(...hard));
    expect(Math.max(...simple)).toBeLessThanOrEqual(3);
    expect(Math.min(...hard)).toBeGreaterThanOrEqual(7);
  });

  test('a scoring template around the prompt does not sway the rating', () => {
    const wrapped = `Rate the complexity of the request from 0 to 10 using rigorous criteria.\n<prompt>${SIMPLE[0]}</prompt>`;
    expect(promptToRate(wrapped)).toBe(SIMPLE[0]);
    expect(rateComplexity(promptToRate(wrapped))).toBe(rateComplexity(SIMPLE[0]));
  });

  test('embeddings are deterministic, normalized and closer for texts sharing vocabulary', () => {
    const a = embedText('reset my account password', 64);
    expect(embedText('reset my account password', 64)).toEqual(a);
    expect(a).toHaveLength(64);
    expect(Math.hypot(...a)).toBeCloseTo(1, 10);
    const near = embedText('how do I reset the password of my account', 64);
    const far = embedText('prove the theorem about prime number distribution', 64);
    expect(cosine(a, near)).toBeGreaterThan(cosine(a, far));
    expect(cosine(a, near)).toBeGreaterThan(0.6);
  });
});

describe('vLLM simulator as the scorer LLM', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startVllmSimulator({ role: 'scorer', model: 'qwen2.5-1.5b-instruct' });
  });
  afterAll(() => sim.close());

  const rate = async (prompt: string, extra: Record<string, unknown> = {}) => {
    const res = await request(sim.url, '/v1/chat/completions', {
      body: {
        model: 'qwen2.5-1.5b-instruct',
        temperature: 0,
        max_tokens: 2,
        messages: [
          { role: 'system', content: 'Rate the complexity of the user request from 0 to 10. Answer with the number only.' },
          { role: 'user', content: prompt },
        ],
        ...extra,
      },
    });
    expect(res.status).toBe(200);
    return JSON.parse(res.text);
  };

  test('answers the rating of the last user message as a bare integer', async () => {
    const easy = await rate(SIMPLE[1]);
    const hard = await rate(HARD[1]);
    expect(easy.choices[0].message.content).toMatch(/^\d+$/);
    expect(Number(easy.choices[0].message.content)).toBe(rateComplexity(SIMPLE[1]));
    expect(Number(hard.choices[0].message.content)).toBe(rateComplexity(HARD[1]));
    expect(easy.choices[0].logprobs).toBeNull();
  });

  test('rates only the last user message, not earlier turns', async () => {
    const res = await request(sim.url, '/v1/chat/completions', {
      body: {
        messages: [
          { role: 'user', content: HARD[0] },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: SIMPLE[0] },
        ],
      },
    });
    expect(Number(JSON.parse(res.text).choices[0].message.content)).toBe(rateComplexity(SIMPLE[0]));
  });

  test('with logprobs returns top_logprobs over rating tokens, peaked at the rating', async () => {
    const body = await rate(HARD[0], { logprobs: true, top_logprobs: 5 });
    const rating = Number(body.choices[0].message.content);
    const first = body.choices[0].logprobs.content[0];
    expect(first.token).toBe(String(rating));
    expect(first.top_logprobs).toHaveLength(5);
    expect(first.top_logprobs[0].token).toBe(String(rating));
    const lps = first.top_logprobs.map((t: { logprob: number }) => t.logprob);
    expect([...lps].sort((a, b) => b - a)).toEqual(lps);
    for (const t of first.top_logprobs) {
      expect(t.token).toMatch(/^\d+$/);
      expect(t.logprob).toBeLessThanOrEqual(0);
    }
    const full = (await rate(HARD[0], { logprobs: true, top_logprobs: 20 })).choices[0].logprobs.content[0].top_logprobs;
    const mass = full.reduce((s: number, t: { logprob: number }) => s + Math.exp(t.logprob), 0);
    const expected = full.reduce((s: number, t: { token: string; logprob: number }) => s + Number(t.token) * Math.exp(t.logprob), 0) / mass;
    expect(mass).toBeCloseTo(1, 6);
    expect(Math.abs(expected - rating)).toBeLessThan(1);
  });

  test('streams the rating as one content chunk', async () => {
    const res = await request(sim.url, '/v1/chat/completions', {
      body: { messages: [{ role: 'user', content: SIMPLE[2] }], stream: true, logprobs: true, top_logprobs: 3 },
    });
    const content = sseJson(res.text).filter((f) => f.choices?.[0]?.delta?.content);
    expect(content).toHaveLength(1);
    expect(Number(content[0].choices[0].delta.content)).toBe(rateComplexity(SIMPLE[2]));
    expect(content[0].choices[0].logprobs.content[0].top_logprobs).toHaveLength(3);
  });

  test('the garbage fault makes the scorer answer words instead of a number', async () => {
    sim.pushFault({ kind: 'garbage' });
    const body = await rate(HARD[0], { logprobs: true, top_logprobs: 3 });
    expect(Number.isNaN(Number(body.choices[0].message.content))).toBe(true);
    expect(body.choices[0].logprobs.content[0].top_logprobs.every((t: { token: string }) => !/^\d+$/.test(t.token))).toBe(true);
  });
});

describe('vLLM simulator as the embedding server', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startVllmSimulator({ role: 'embedding', model: 'nomic-embed-text-v1.5', embeddingDims: 32 });
  });
  afterAll(() => sim.close());

  const embed = async (input: unknown, extra: Record<string, unknown> = {}) => {
    const res = await request(sim.url, '/v1/embeddings', { body: { model: 'nomic-embed-text-v1.5', input, ...extra } });
    expect(res.status).toBe(200);
    return JSON.parse(res.text);
  };

  test('embeds a list of inputs in order with usage, deterministically', async () => {
    const body = await embed(['search_query: reset my password', 'search_query: prove the theorem']);
    expect(body.object).toBe('list');
    expect(body.model).toBe('nomic-embed-text-v1.5');
    expect(body.data.map((d: { index: number; object: string }) => [d.index, d.object])).toEqual([
      [0, 'embedding'],
      [1, 'embedding'],
    ]);
    expect(body.data[0].embedding).toHaveLength(32);
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    const again = await embed('search_query: reset my password');
    expect(again.data[0].embedding).toEqual(body.data[0].embedding);
  });

  test('task prefixes are ignored and similar texts land closer than unrelated ones', async () => {
    const body = await embed([
      'search_query: refund for my last order',
      'search_document: refund for my last order',
      'search_query: where is the refund of my order',
      'search_query: design a consensus protocol for replicated logs',
    ]);
    const [q, d, near, far] = body.data.map((x: { embedding: number[] }) => x.embedding);
    expect(d).toEqual(q);
    expect(cosine(q, near)).toBeGreaterThan(cosine(q, far));
  });

  test('the official openai client gets the same vectors through base64 encoding', async () => {
    const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const viaSdk = await client.embeddings.create({ model: 'nomic-embed-text-v1.5', input: 'reset my password' });
    const plain = await embed('reset my password');
    const a = viaSdk.data[0].embedding;
    const b = plain.data[0].embedding as number[];
    expect(a).toHaveLength(32);
    a.forEach((x, i) => expect(x).toBeCloseTo(b[i], 6));
  });

  test('missing input is a 400 and chat is refused', async () => {
    expect((await request(sim.url, '/v1/embeddings', { body: { model: 'x' } })).status).toBe(400);
    expect((await request(sim.url, '/v1/chat/completions', { body: { messages: [{ role: 'user', content: 'hi' }] } })).status).toBe(404);
  });
});
