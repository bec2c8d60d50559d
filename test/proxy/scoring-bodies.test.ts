import { EmbeddingClient, ScorerClient } from '../../proxy/src/scoring';
import { Upstream } from '../../proxy/src/upstream';

describe('scoring request bodies', () => {
  afterEach(() => jest.restoreAllMocks());

  test('the rating request is the JSON document of the scorer settings and the text', async () => {
    const spy = jest.spyOn(Upstream.prototype, 'postJsonText').mockResolvedValue({ choices: [{ message: { content: '7' } }] });
    const scorer = new ScorerClient({ baseUrl: 'http://127.0.0.1:1', model: 'q"1.5b', timeoutMs: 400, systemPrompt: 'Rate "this"\n0-10.', maxTokens: 2, useLogprobs: true, maxSockets: 4 });
    await expect(scorer.rate('héllo "world"\n\u2028')).resolves.toMatchObject({ ok: true, rating: 7 });
    expect(JSON.parse(spy.mock.calls[0][1])).toEqual({
      model: 'q"1.5b',
      messages: [
        { role: 'system', content: 'Rate "this"\n0-10.' },
        { role: 'user', content: 'héllo "world"\n\u2028' },
      ],
      temperature: 0,
      max_tokens: 2,
      stream: false,
      logprobs: true,
      top_logprobs: 10,
    });
    scorer.upstream.destroy();
  });

  test.each(['base64', 'float'] as const)('the embedding request (%s) carries the prefixed text', async (encodingFormat) => {
    const spy = jest.spyOn(Upstream.prototype, 'postJsonText').mockResolvedValue({ data: [{ index: 0, embedding: [0.5, 0.5] }] });
    const emb = new EmbeddingClient({ baseUrl: 'http://127.0.0.1:1', model: 'nomic', timeoutMs: 200, queryPrefix: 'search_query: ', encodingFormat, batchSize: 32, maxSockets: 4 });
    await emb.embed('a "b"');
    await emb.embedMany(['x', 'y']).catch(() => undefined);
    const one = JSON.parse(spy.mock.calls[0][1]);
    const many = JSON.parse(spy.mock.calls[1][1]);
    const fmt = encodingFormat === 'base64' ? { encoding_format: 'base64' } : {};
    expect(one).toEqual({ model: 'nomic', input: ['search_query: a "b"'], ...fmt });
    expect(many).toEqual({ model: 'nomic', input: ['search_query: x', 'search_query: y'], ...fmt });
    emb.upstream.destroy();
  });

  test('a base64 embedding decodes to its little-endian float32 values; one that is not finite is garbage', async () => {
    const values = [0.5, -1.25, 3.4028234663852886e38, 1e-45, 0, 0.1];
    const le = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => le.writeFloatLE(v, i * 4));
    const spy = jest.spyOn(Upstream.prototype, 'postJsonText').mockResolvedValue({ data: [{ index: 0, embedding: le.toString('base64') }] });
    const emb = new EmbeddingClient({ baseUrl: 'http://127.0.0.1:1', model: 'nomic', timeoutMs: 200, queryPrefix: '', encodingFormat: 'base64', batchSize: 32, maxSockets: 4 });
    expect(Array.from(await emb.embed('a'))).toEqual(values.map((v) => Math.fround(v)));
    for (const bad of [NaN, Infinity]) {
      const b = Buffer.from(le);
      b.writeFloatLE(bad, 8);
      spy.mockResolvedValue({ data: [{ index: 0, embedding: b.toString('base64') }] });
      await expect(emb.embed('a')).rejects.toMatchObject({ why: 'garbage' });
    }
    emb.upstream.destroy();
  });
});
