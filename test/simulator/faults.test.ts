import { SimulatorHandle, startVllmSimulator } from '../../tools/simulator/vllm-simulator';
import { eventually, metricValue, openStream, request, sleep, sseData, sseJson } from './http-helpers';

const streamBody = { model: 'm', messages: [{ role: 'user', content: 'hello there' }], stream: true };
const plainBody = { model: 'm', messages: [{ role: 'user', content: 'hello there' }] };
const contentChunks = (text: string) =>
  sseJson(text).filter((f) => typeof f.choices?.[0]?.delta?.content === 'string' && f.choices[0].delta.content !== '');

describe('vLLM simulator faults', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startVllmSimulator({ chunks: 8, chunkIntervalMs: 2 });
  });
  afterAll(() => sim.close());
  beforeEach(async () => {
    sim.clearFaults();
    await eventually(() => sim.stats().active, (n) => n === 0);
    sim.resetStats();
  });

  test('status fault answers an OpenAI-style error with Retry-After, then the next request is normal', async () => {
    sim.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 3 });
    const failed = await request(sim.url, '/v1/chat/completions', { body: plainBody });
    expect(failed.status).toBe(429);
    expect(failed.headers['retry-after']).toBe('3');
    expect(JSON.parse(failed.text).error).toMatchObject({ code: 429, type: 'RateLimitError' });
    const ok = await request(sim.url, '/v1/chat/completions', { body: plainBody });
    expect(ok.status).toBe(200);
  });

  test('times repeats a fault and faults queue first in, first out', async () => {
    sim.pushFault({ kind: 'status', status: 503, times: 2 });
    sim.pushFault({ kind: 'status', status: 502, body: 'bad gateway text' });
    const statuses: number[] = [];
    const bodies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await request(sim.url, '/v1/chat/completions', { body: plainBody });
      statuses.push(r.status);
      bodies.push(r.text);
    }
    expect(statuses).toEqual([503, 503, 502, 200]);
    expect(bodies[2]).toBe('bad gateway text');
  });

  test('faults skip /health and GET endpoints and wait for the next API request', async () => {
    sim.pushFault({ kind: 'status', status: 500 });
    expect((await request(sim.url, '/health')).status).toBe(200);
    expect((await request(sim.url, '/v1/models')).status).toBe(200);
    expect((await request(sim.url, '/v1/chat/completions', { body: plainBody })).status).toBe(500);
  });

  test('reset-before-headers destroys the connection without a response', async () => {
    sim.pushFault({ kind: 'reset-before-headers' });
    await expect(request(sim.url, '/v1/chat/completions', { body: streamBody })).rejects.toThrow(/socket hang up|ECONNRESET/);
    const s = await eventually(() => sim.stats(), (x) => x.active === 0);
    expect(s).toMatchObject({ requests: 1, completed: 0, aborted: 0 });
  });

  test('no-headers holds the request until the client leaves, which counts as aborted', async () => {
    sim.pushFault({ kind: 'no-headers' });
    const st = openStream(sim.url, '/v1/chat/completions', streamBody);
    await eventually(() => sim.stats().lastBodies.length, (n) => n === 1);
    const metrics = (await request(sim.url, '/metrics')).text;
    expect(metricValue(metrics, 'vllm:num_requests_waiting')).toBe(1);
    await sleep(100);
    expect(st.status()).toBeUndefined();
    expect(sim.stats().active).toBe(1);
    st.abort();
    const s = await eventually(() => sim.stats(), (x) => x.aborted === 1);
    expect(s).toMatchObject({ aborted: 1, active: 0, completed: 0 });
    expect(metricValue((await request(sim.url, '/metrics')).text, 'vllm:num_requests_waiting')).toBe(0);
  });

  test('queued sends a stream its headers at once and its first token after the wait, counted as waiting meanwhile', async () => {
    sim.pushFault({ kind: 'queued', ms: 200 });
    const started = Date.now();
    const st = openStream(sim.url, '/v1/chat/completions', streamBody);
    await st.headers;
    expect(st.status()).toBe(200);
    expect(Date.now() - started).toBeLessThan(150);
    expect(metricValue((await request(sim.url, '/metrics')).text, 'vllm:num_requests_waiting')).toBe(1);
    expect(st.pieces.join('')).toBe('');
    expect(await st.done).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(sseData(st.pieces.join('')).pop()).toBe('[DONE]');
    expect(contentChunks(st.pieces.join(''))).toHaveLength(8);
    expect(metricValue((await request(sim.url, '/metrics')).text, 'vllm:num_requests_waiting')).toBe(0);
  });

  test('queued holds a non-streamed answer for the wait', async () => {
    sim.pushFault({ kind: 'queued', ms: 150 });
    const started = Date.now();
    const r = await request(sim.url, '/v1/chat/completions', { body: plainBody });
    expect(r.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(JSON.parse(r.text).choices[0].message.content).toEqual(expect.any(String));
  });

  test('stall-mid-stream sends N content chunks and then goes silent with the socket open', async () => {
    sim.pushFault({ kind: 'stall-mid-stream', afterChunks: 3 });
    const st = openStream(sim.url, '/v1/chat/completions', streamBody);
    const text = await st.until((t) => contentChunks(t).length === 3);
    // The whole answer would take about 16 ms; give it far longer to show that nothing more arrives.
    await sleep(150);
    expect(contentChunks(st.pieces.join(''))).toHaveLength(3);
    expect(st.pieces.join('')).toBe(text);
    expect(text).not.toContain('[DONE]');
    expect(sim.stats().active).toBe(1);
    st.abort();
    expect(await st.done).toBe(false);
    await eventually(() => sim.stats().aborted, (n) => n === 1);
    expect(sim.stats().aborted).toBe(1);
  });

  test('stall-mid-stream with afterChunks 0 sends headers and no data', async () => {
    sim.pushFault({ kind: 'stall-mid-stream', afterChunks: 0 });
    const st = openStream(sim.url, '/v1/chat/completions', streamBody);
    const headers = await st.headers;
    expect(headers['content-type']).toMatch(/event-stream/);
    await sleep(100);
    expect(st.pieces.join('')).toBe('');
    st.abort();
  });

  test('reset-mid-stream sends N content chunks and then resets, with no [DONE]', async () => {
    sim.pushFault({ kind: 'reset-mid-stream', afterChunks: 2 });
    const st = openStream(sim.url, '/v1/chat/completions', streamBody);
    expect(await st.done).toBe(false);
    const text = st.pieces.join('');
    expect(contentChunks(text)).toHaveLength(2);
    expect(text).not.toContain('[DONE]');
    const s = await eventually(() => sim.stats(), (x) => x.active === 0);
    expect(s).toMatchObject({ aborted: 0, completed: 0 });
  });

  test('reset-mid-stream on a non-streamed request cuts the JSON body short', async () => {
    sim.pushFault({ kind: 'reset-mid-stream', afterChunks: 1 });
    await expect(request(sim.url, '/v1/chat/completions', { body: plainBody })).rejects.toThrow();
  });

  test('malformed-sse splits frames across writes, uses CRLF, adds comments and a bad line, still ends with [DONE]', async () => {
    sim.pushFault({ kind: 'malformed-sse' });
    const res = await request(sim.url, '/v1/chat/completions', { body: streamBody });
    expect(res.status).toBe(200);
    expect(res.text).toContain('\r\n');
    expect(res.text).not.toMatch(/[^\r]\n/);
    expect(res.text).toMatch(/^: /m);
    expect(res.text).toContain('data: {not json');
    expect(sseData(res.text).pop()).toBe('[DONE]');
    expect(contentChunks(res.text)).toHaveLength(8);
    // Some delivered piece ends inside a frame.
    expect(res.pieces.length).toBeGreaterThan(1);
    expect(res.pieces.slice(0, -1).some((p) => !p.endsWith('\r\n\r\n'))).toBe(true);
  });

  test('garbage answers 200 with a body that is not JSON', async () => {
    sim.pushFault({ kind: 'garbage' });
    const res = await request(sim.url, '/v1/chat/completions', { body: plainBody });
    expect(res.status).toBe(200);
    expect(() => JSON.parse(res.text)).toThrow();
  });

  test('delay holds the headers, counts the request as waiting, then answers normally', async () => {
    sim.pushFault({ kind: 'delay', ms: 300 });
    const st = openStream(sim.url, '/v1/chat/completions', streamBody);
    await eventually(() => sim.stats().lastBodies.length, (n) => n === 1);
    expect(metricValue((await request(sim.url, '/metrics')).text, 'vllm:num_requests_waiting')).toBe(1);
    expect(st.status()).toBeUndefined();
    expect(await st.done).toBe(true);
    expect(st.status()).toBe(200);
    expect(sseData(st.pieces.join('')).pop()).toBe('[DONE]');
  });

  test('unhealthy makes /health 503 until the faults are cleared, without touching API requests', async () => {
    sim.pushFault({ kind: 'unhealthy' });
    expect((await request(sim.url, '/health')).status).toBe(503);
    expect((await request(sim.url, '/health')).status).toBe(503);
    expect((await request(sim.url, '/v1/chat/completions', { body: plainBody })).status).toBe(200);
    sim.clearFaults();
    expect((await request(sim.url, '/health')).status).toBe(200);
  });

  test('faults are injected and cleared over HTTP, and invalid faults are refused', async () => {
    const queued = await request(sim.url, '/_sim/faults', { body: { kind: 'status', status: 500, times: 3 } });
    expect(queued.status).toBe(200);
    expect((await request(sim.url, '/v1/chat/completions', { body: plainBody })).status).toBe(500);
    await request(sim.url, '/_sim/faults', { method: 'DELETE' });
    expect((await request(sim.url, '/v1/chat/completions', { body: plainBody })).status).toBe(200);
    const bad = await request(sim.url, '/_sim/faults', { body: { kind: 'stall-mid-stream' } });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error.message).toMatch(/afterChunks/);
    expect(() => sim.pushFault({ kind: 'explode' } as never)).toThrow(/fault.kind/);
    await request(sim.url, '/_sim/faults', { body: { kind: 'unhealthy' } });
    expect((await request(sim.url, '/health')).status).toBe(503);
  });

  test('an x-simulator-fault header applies a fault to that request only', async () => {
    const res = await request(sim.url, '/v1/chat/completions', {
      body: plainBody,
      headers: { 'x-simulator-fault': JSON.stringify({ kind: 'status', status: 418 }) },
    });
    expect(res.status).toBe(418);
    expect((await request(sim.url, '/v1/chat/completions', { body: plainBody })).status).toBe(200);
  });

  test('a client that leaves mid-stream is counted as aborted, never as completed', async () => {
    const slow = await startVllmSimulator({ chunks: 50, chunkIntervalMs: 20 });
    try {
      const st = openStream(slow.url, '/v1/chat/completions', streamBody);
      await st.until((t) => contentChunks(t).length >= 1);
      expect(slow.stats().active).toBe(1);
      st.abort();
      const s = await eventually(() => slow.stats(), (x) => x.aborted === 1 && x.active === 0);
      expect(s).toMatchObject({ aborted: 1, active: 0, completed: 0 });
    } finally {
      await slow.close();
    }
  });

  test('close() ends open streams and resolves', async () => {
    const other = await startVllmSimulator({ chunks: 8, chunkIntervalMs: 2 });
    other.pushFault({ kind: 'stall-mid-stream', afterChunks: 1 });
    const st = openStream(other.url, '/v1/chat/completions', streamBody);
    await st.until((t) => contentChunks(t).length === 1);
    await other.close();
    expect(await st.done).toBe(false);
    await expect(request(other.url, '/health')).rejects.toThrow(/ECONNREFUSED/);
  });
});
