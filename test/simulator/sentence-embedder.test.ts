import { hashingEmbedder, universalSentenceEncoder } from '../../tools/simulator/sentence-embedder';
import { startVllmSimulator, type SimulatorHandle } from '../../tools/simulator/vllm-simulator';
import { request } from './http-helpers';

jest.setTimeout(60_000);

const cos = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
};

describe('Universal Sentence Encoder from the npm package (no download)', () => {
  const use = universalSentenceEncoder();

  test('512-dimensional vectors that put paraphrases closer than unrelated text', async () => {
    const [a, b, c] = await use.embed(['How do I reset my password?', 'I forgot my password, how can I change it?', 'Prove that the square root of two is irrational.']);
    expect(a).toHaveLength(512);
    expect(cos(a, b)).toBeGreaterThan(cos(a, c) + 0.2);
  });

  test('the nomic task prefix is not embedded, and an empty text still gets a vector', async () => {
    const [plain, prefixed, empty] = await use.embed(['What is the capital of France?', 'search_query: What is the capital of France?', '']);
    expect(cos(plain, prefixed)).toBeCloseTo(1, 5);
    expect(empty).toHaveLength(512);
  });
});

describe('embedding simulator with a real embedder', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startVllmSimulator({ role: 'embedding', model: 'nomic-embed-text-v1.5', embedder: universalSentenceEncoder() });
  });
  afterAll(() => sim?.close());

  test('serves the model\'s vectors as float lists and as base64 float32', async () => {
    const texts = ['search_query: Where is my order?', 'search_query: Design a lock-free queue.'];
    const [want] = await universalSentenceEncoder().embed([texts[1]]);
    const f = await request(sim.url, '/v1/embeddings', { body: { model: 'nomic-embed-text-v1.5', input: texts } });
    expect(f.status).toBe(200);
    const data = JSON.parse(f.text).data;
    expect(data.map((d: { index: number }) => d.index)).toEqual([0, 1]);
    expect(data[1].embedding).toHaveLength(512);
    expect(data[1].embedding[7]).toBeCloseTo(want[7], 5);
    const b = await request(sim.url, '/v1/embeddings', { body: { model: 'nomic-embed-text-v1.5', input: texts[1], encoding_format: 'base64' } });
    const buf = Buffer.from(JSON.parse(b.text).data[0].embedding, 'base64');
    expect(buf.length).toBe(512 * 4);
    expect(buf.readFloatLE(7 * 4)).toBeCloseTo(want[7], 5);
  });

  test('bad input is still a 400 naming the field', async () => {
    const r = await request(sim.url, '/v1/embeddings', { body: { model: 'x', input: 42 } });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error.param).toBe('input');
  });
});

test('the hashing embedder stays deterministic for unit tests', async () => {
  const h = hashingEmbedder(64);
  const [a] = await h.embed(['same text']);
  const [b] = await h.embed(['same text']);
  expect(Array.from(a)).toEqual(Array.from(b));
});
