import { parseSimulatorArgs } from '../../tools/simulator/cli';
import { SimulatorHandle, startVllmSimulator } from '../../tools/simulator/vllm-simulator';
import { eventually, metricValue, openStream, request, sseJson } from './http-helpers';

const streamBody = { model: 'm', messages: [{ role: 'user', content: 'twelve chars' }], stream: true };

describe('vLLM simulator /metrics', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startVllmSimulator({ model: 'llama-3.1-8b', chunks: 4, chunkIntervalMs: 1 });
  });
  afterAll(() => sim.close());

  const metrics = async () => {
    const res = await request(sim.url, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    return res.text;
  };

  test('exposes the vLLM series with the model_name label', async () => {
    const text = await metrics();
    for (const name of [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:kv_cache_usage_perc',
      'vllm:prompt_tokens_total',
      'vllm:generation_tokens_total',
    ]) {
      expect(text).toContain(`${name}{model_name="llama-3.1-8b"} `);
    }
  });

  test('running gauge follows the streams in flight and token counters grow', async () => {
    const before = await metrics();
    const prompt0 = metricValue(before, 'vllm:prompt_tokens_total')!;
    const gen0 = metricValue(before, 'vllm:generation_tokens_total')!;
    sim.pushFault({ kind: 'stall-mid-stream', afterChunks: 1, times: 2 });
    const a = openStream(sim.url, '/v1/chat/completions', streamBody);
    const b = openStream(sim.url, '/v1/chat/completions', streamBody);
    await a.until((t) => sseJson(t).length >= 2);
    await b.until((t) => sseJson(t).length >= 2);
    const during = await metrics();
    expect(metricValue(during, 'vllm:num_requests_running')).toBe(2);
    expect(metricValue(during, 'vllm:kv_cache_usage_perc')).toBeGreaterThan(0);
    a.abort();
    b.abort();
    await eventually(() => sim.stats().active, (n) => n === 0);
    await request(sim.url, '/v1/chat/completions', { body: streamBody });
    const after = await metrics();
    expect(metricValue(after, 'vllm:num_requests_running')).toBe(0);
    // Three requests of "twelve chars" (3 tokens each); 1 + 1 + 4 generated tokens.
    expect(metricValue(after, 'vllm:prompt_tokens_total')! - prompt0).toBe(9);
    expect(metricValue(after, 'vllm:generation_tokens_total')! - gen0).toBe(6);
  });
});

describe('simulator command line', () => {
  test('parses every flag', () => {
    expect(
      parseSimulatorArgs([
        '--port', '9101', '--model', 'llama-3.1-8b', '--role', 'scorer', '--chunks', '20',
        '--chunk-interval-ms', '5', '--first-token-delay-ms', '7', '--embedding-dims', '16',
      ]),
    ).toEqual({
      host: '127.0.0.1',
      port: 9101,
      model: 'llama-3.1-8b',
      role: 'scorer',
      chunks: 20,
      chunkIntervalMs: 5,
      firstTokenDelayMs: 7,
      embeddingDims: 16,
    });
  });

  test('refuses unknown flags and bad values with every problem named', () => {
    expect(() => parseSimulatorArgs(['--chunk-size', '3'])).toThrow(/--chunk-size/);
    const bad = () => parseSimulatorArgs(['--port', 'x', '--role', 'tier']);
    expect(bad).toThrow(/--port: got "x"/);
    expect(bad).toThrow(/--role: got "tier"/);
  });

  test('the options it yields start a working server', async () => {
    const opts = parseSimulatorArgs(['--port', '0', '--chunks', '2']);
    if (opts === 'help') throw new Error('unexpected help');
    const sim = await startVllmSimulator(opts);
    try {
      const res = await request(sim.url, '/v1/chat/completions', { body: streamBody });
      expect(sseJson(res.text).filter((f) => f.choices?.[0]?.delta?.content)).toHaveLength(2);
    } finally {
      await sim.close();
    }
  });

  test('invalid programmatic options are rejected', async () => {
    await expect(startVllmSimulator({ chunks: -1 })).rejects.toThrow(/chunks: got -1/);
  });
});
