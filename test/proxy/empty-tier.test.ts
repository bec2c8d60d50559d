/**
 * A tier with no capacity (scale from zero): its load balancer answers 503 itself at once. Requests
 * for a `hold` tier wait in a bounded queue until capacity appears (streams kept open with SSE
 * comments), requests for a `spill` tier go to the next tier, and every such request is counted
 * once in `NoCapacityRequests`. Over real HTTP, with a stub that answers exactly like an ALB with
 * no healthy target in front of each simulated tier.
 */
import * as http from 'node:http';
import { Writable } from 'node:stream';
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import pino from 'pino';
import { Dimension, ProxyMetric } from '../../contracts/metrics';
import { parseProxyConfig } from '../../proxy/src/config';
import { CloudWatchPublisher } from '../../proxy/src/metrics/cloudwatch';
import { ProxyMetrics } from '../../proxy/src/metrics/registry';
import { startProxy, type ProxyDeps, type ProxyHandle } from '../../proxy/src/server';
import { startVllmSimulator, type SimulatorHandle } from '../../tools/simulator/vllm-simulator';
import { startAlbStub, type AlbStub } from './alb-stub';
import { KEY, baseDoc, chat, merge, post, quietLogger, readyz, send, sseData, waitFor } from './harness';

jest.setTimeout(30_000);

const PATH = '/v1/chat/completions';
const SIMPLE = 'What are your opening hours on weekends?';
const LARGE = 'llama-3.1-70b';
const cwMock = mockClient(CloudWatchClient);

let sims: SimulatorHandle[];
let small: AlbStub;
let large: AlbStub;
beforeAll(async () => {
  sims = await Promise.all([
    startVllmSimulator({ model: 'llama-3.1-8b', role: 'generate', chunks: 5, chunkIntervalMs: 1 }),
    startVllmSimulator({ model: 'llama-3.1-70b', role: 'generate', chunks: 5, chunkIntervalMs: 1 }),
    startVllmSimulator({ model: 'nomic-embed-text-v1.5', role: 'embedding', embeddingDims: 256 }),
    startVllmSimulator({ model: 'qwen2.5-1.5b-instruct', role: 'scorer' }),
  ]);
  [small, large] = await Promise.all([startAlbStub(sims[0].url), startAlbStub(sims[1].url)]);
});
afterAll(async () => {
  await Promise.all([small?.close(), large?.close(), ...(sims ?? []).map((s) => s.close())]);
});
beforeEach(() => {
  for (const s of [small, large]) {
    s.capacity = false;
    s.healthOnly = false;
    for (const k of Object.keys(s.refused)) delete s.refused[k];
    for (const k of Object.keys(s.forwarded)) delete s.forwarded[k];
  }
});

/** Log lines of the proxy under test. */
let lines: Array<Record<string, unknown>> = [];

/** A proxy in front of the two stubs; `tiers` is merged into each tier, by index. */
async function proxyWith(cfg: { tiers?: Array<Record<string, unknown>>; dispatch?: Record<string, unknown>; extra?: Record<string, unknown> } = {}, deps: ProxyDeps = {}): Promise<ProxyHandle> {
  const doc = merge(baseDoc(small.url, large.url, sims[2].url, sims[3].url), {
    allowTierOverride: true,
    logBufferBytes: 0,
    dispatch: { holdProbeIntervalMs: 40, holdKeepAliveMs: 60, ...cfg.dispatch },
    ...cfg.extra,
  });
  const tiers = (doc.tiers as Array<Record<string, unknown>>).map((t, i) => ({ ...t, ...cfg.tiers?.[i] }));
  lines = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const p = await startProxy(parseProxyConfig({ ...doc, tiers }), { logger: pino({ level: 'info' }, sink), ...deps });
  await waitFor(async () => (await readyz(p.url)).body.router.embedding.centroids.ready === true, 5000);
  return p;
}

async function metric(url: string, series: string): Promise<number> {
  const text = (await send(url, { method: 'GET', path: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function requestLine(requestId: string): Promise<Record<string, unknown>> {
  const find = () => lines.find((l) => l.requestId === requestId && (l.msg === 'request' || l.msg === 'request failed'));
  await waitFor(() => find() !== undefined, 3000);
  return find()!;
}

const held = async (p: ProxyHandle, tier: string) => (await readyz(p.url)).body.tiers[tier].held as number;
const errorOf = (body: string) => JSON.parse(body).error as { message: string; type: string; param: string | null; code: string | null };
const toLarge = (extra: Record<string, unknown> = {}) => ({ model: LARGE, messages: [{ role: 'user', content: SIMPLE }], max_tokens: 16, ...extra });

/** Starts a request and collects its answer as it arrives. */
function open(url: string, body: unknown, headers: Record<string, string> = {}) {
  const u = new URL(url);
  let text = '';
  let req: http.ClientRequest;
  const done = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    req = http.request({ hostname: u.hostname, port: u.port, method: 'POST', path: PATH, agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
  done.catch(() => undefined);
  return { done, req: req!, text: () => text };
}

describe('hold', () => {
  let p: ProxyHandle;
  beforeAll(async () => {
    p = await proxyWith({ tiers: [{ whenEmpty: 'spill' }, { whenEmpty: 'hold', maxHoldMs: 5000, holdQueueSize: 2 }] });
  });
  afterAll(async () => {
    await p?.close();
  });

  test('a held request is served once capacity appears', async () => {
    const started = Date.now();
    const r = open(p.url, toLarge(), { 'x-request-id': 'hold-served' });
    await waitFor(async () => (await held(p, 'large')) === 1, 3000);
    await new Promise((res) => setTimeout(res, 200));
    large.capacity = true;
    const a = await r.done;
    expect(a.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(a.headers['x-route-tier']).toBe('large');
    expect(JSON.parse(a.body).choices[0].message.content.length).toBeGreaterThan(0);
    expect(await held(p, 'large')).toBe(0);
    const line = await requestLine('hold-served');
    expect(line).toMatchObject({ status: 200, outcome: 'ok', tier: 'large' });
    expect((line.route as string[])[0]).toMatch(/^hold:large:\d+ms$/);
    // The held request reached the tier once, after the wait; the probes went to /health.
    expect(large.forwarded[PATH]).toBe(1);
    expect(large.refused['/health']).toBeGreaterThanOrEqual(1);
  });

  test('a full queue answers 503 at once, in the OpenAI error shape with Retry-After', async () => {
    const a = open(p.url, toLarge());
    const b = open(p.url, toLarge());
    await waitFor(async () => (await held(p, 'large')) === 2, 3000);
    const started = Date.now();
    const c = await post(p.url, PATH, toLarge());
    expect(Date.now() - started).toBeLessThan(1000);
    expect(c.status).toBe(503);
    expect(c.headers['retry-after']).toBe('5');
    expect(errorOf(c.body)).toEqual({ message: expect.any(String), type: 'server_error', param: null, code: 'no_capacity' });
    large.capacity = true;
    expect((await a.done).status).toBe(200);
    expect((await b.done).status).toBe(200);
  });

  test('a client leaving while held is removed at once and is never a tier failure', async () => {
    const before = await metric(p.url, 'UpstreamErrors{Tier="large"}');
    const r = open(p.url, toLarge({ stream: true }), { 'x-request-id': 'hold-left' });
    await waitFor(async () => (await held(p, 'large')) === 1, 3000);
    r.req.destroy();
    // Well before the 5 s hold would end.
    await waitFor(async () => (await held(p, 'large')) === 0, 1000, 10);
    expect(await metric(p.url, 'UpstreamErrors{Tier="large"}')).toBe(before);
    expect((await readyz(p.url)).body.tiers.large.breaker).toBe('closed');
    expect(await requestLine('hold-left')).toMatchObject({ outcome: 'client-gone' });
    large.capacity = true;
    await new Promise((res) => setTimeout(res, 150));
    expect(large.forwarded[PATH]).toBeUndefined();
  });

  test('a held stream gets comment lines, then the answer under the head it committed to', async () => {
    const r = open(p.url, toLarge({ stream: true }), { 'x-request-id': 'hold-stream' });
    await waitFor(() => r.text().split(': waiting for capacity\n\n').length > 3, 3000);
    large.capacity = true;
    const a = await r.done;
    expect(a.status).toBe(200);
    expect(a.headers).toMatchObject({ 'content-type': 'text/event-stream', 'x-route-tier': 'large', 'x-route-hold': 'large' });
    expect(a.body.startsWith(': waiting for capacity\n\n: waiting for capacity\n\n')).toBe(true);
    const data = sseData(a.body);
    expect(data.pop()).toBe('[DONE]');
    expect(data.length).toBeGreaterThan(1);
    for (const d of data) expect(JSON.parse(d).error).toBeUndefined();
  });
});

describe('hold expiry', () => {
  let p: ProxyHandle;
  beforeAll(async () => {
    p = await proxyWith({ tiers: [{ whenEmpty: 'spill' }, { whenEmpty: 'hold', maxHoldMs: 400 }], dispatch: { breaker: { failures: 2, windowMs: 10_000, cooldownMs: 60_000 } } });
  });
  afterAll(async () => {
    await p?.close();
  });

  test('an expired wait gives 503 no_capacity with Retry-After, and the empty tier\'s breaker stays closed', async () => {
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const r = await post(p.url, PATH, toLarge());
      expect(Date.now() - started).toBeGreaterThanOrEqual(380);
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('1');
      expect(errorOf(r.body)).toMatchObject({ type: 'server_error', code: 'no_capacity' });
    }
    // Two failures open this breaker; six empty answers (three requests, probes aside) did not.
    expect((await readyz(p.url)).body.tiers.large.breaker).toBe('closed');
    expect(await metric(p.url, 'UpstreamErrors{Tier="large"}')).toBe(0);
  });

  test('a held stream whose wait expires after its head went out ends with an SSE error event and no [DONE]', async () => {
    const r = await post(p.url, PATH, toLarge({ stream: true }));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/event-stream');
    expect(r.body.startsWith(': waiting for capacity\n\n')).toBe(true);
    const data = sseData(r.body);
    expect(data).not.toContain('[DONE]');
    expect(JSON.parse(data[data.length - 1]).error).toMatchObject({ type: 'server_error', code: 'no_capacity' });
  });

  test('a request released into no capacity again (a probe raced it) waits on and is counted once', async () => {
    large.healthOnly = true;
    const before = await metric(p.url, 'NoCapacityRequests{Tier="large"}');
    const r = await post(p.url, PATH, toLarge());
    expect(r.status).toBe(503);
    expect(large.refused[PATH]).toBeGreaterThan(2);
    expect(await metric(p.url, 'NoCapacityRequests{Tier="large"}')).toBe(before + 1);
  });
});

describe('spill', () => {
  test('an empty spill tier sends the request to the next tier, says so in the headers and the log line, and counts it once', async () => {
    const p = await proxyWith({ tiers: [{ whenEmpty: 'spill' }, { whenEmpty: 'hold' }] });
    try {
      large.capacity = true;
      const r = await post(p.url, PATH, chat(SIMPLE, { stream: true }), { 'x-route-tier': 'small', 'x-request-id': 'spilled' });
      expect(r.status).toBe(200);
      expect(r.headers['x-route-tier']).toBe('large');
      expect(r.headers['x-route-reason']).toBe('fallback:spill-from-small');
      expect(sseData(r.body).pop()).toBe('[DONE]');
      expect(await requestLine('spilled')).toMatchObject({ tier: 'large', reason: 'fallback:spill-from-small', decidedTier: 'small', decidedReason: 'override', route: ['spill:small>large'] });
      expect(await metric(p.url, 'NoCapacityRequests{Tier="small"}')).toBe(1);
      expect(await metric(p.url, 'NoCapacityRequests{Tier="large"}')).toBe(0);
      expect(await metric(p.url, 'UpstreamErrors{Tier="small"}')).toBe(0);
      expect(small.refused[PATH]).toBe(1);
    } finally {
      await p.close();
    }
  });

  test('a spill into an empty hold tier: both counted, then held until the larger tier has capacity', async () => {
    const p = await proxyWith({ tiers: [{ whenEmpty: 'spill' }, { whenEmpty: 'hold', maxHoldMs: 5000 }] });
    try {
      const r = open(p.url, chat(SIMPLE), { 'x-route-tier': 'small', 'x-request-id': 'spill-hold' });
      await waitFor(async () => (await held(p, 'large')) === 1, 3000);
      large.capacity = true;
      const a = await r.done;
      expect(a.status).toBe(200);
      expect(a.headers['x-route-reason']).toBe('fallback:spill-from-small');
      expect(await metric(p.url, 'NoCapacityRequests{Tier="small"}')).toBe(1);
      expect(await metric(p.url, 'NoCapacityRequests{Tier="large"}')).toBe(1);
      const route = (await requestLine('spill-hold')).route as string[];
      expect(route[0]).toBe('spill:small>large');
      expect(route[1]).toMatch(/^hold:large:\d+ms$/);
    } finally {
      await p.close();
    }
  });
});

describe('NoCapacityRequests in CloudWatch', () => {
  const sent = (): MetricDatum[] => cwMock.commandCalls(PutMetricDataCommand).flatMap((c) => c.args[0].input.MetricData ?? []);
  const noCapacity = (data: MetricDatum[], tier: string) => data.filter((d) => d.MetricName === ProxyMetric.NoCapacityRequests && d.Dimensions?.some((x) => x.Name === Dimension.Tier && x.Value === tier));
  const client = () => new CloudWatchClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });

  beforeEach(() => cwMock.reset());

  test('each flush sends one datum per tier at 1-second storage resolution, zeros included', async () => {
    cwMock.on(PutMetricDataCommand).resolves({});
    const m = new ProxyMetrics([{ name: 'small', pricePer1kOutputTokensUsd: 0 }, { name: 'large', pricePer1kOutputTokensUsd: 0 }]);
    const pub = new CloudWatchPublisher(client(), m, quietLogger, { namespace: 'N', flushIntervalMs: 10_000, pendingSampleMs: 1000, now: () => 1_700_000_000_000 });
    m.tiers[0].noCapacity.inc();
    await pub.flush();
    expect(noCapacity(sent(), 'small')).toEqual([expect.objectContaining({ Value: 1, Unit: 'Count', StorageResolution: 1 })]);
    expect(noCapacity(sent(), 'large')).toEqual([expect.objectContaining({ Value: 0, StorageResolution: 1 })]);
    cwMock.resetHistory();
    await pub.flush();
    expect(noCapacity(sent(), 'small')).toEqual([expect.objectContaining({ Value: 0, StorageResolution: 1 })]);
  });

  test('through the running proxy: one spilled request is one count in the datum', async () => {
    cwMock.on(PutMetricDataCommand).resolves({});
    const p = await proxyWith({ tiers: [{ whenEmpty: 'spill' }, { whenEmpty: 'hold' }], extra: { metrics: { enabled: true, environment: 'staging' } } }, { cloudwatch: client() });
    large.capacity = true;
    expect((await post(p.url, PATH, chat(SIMPLE), { 'x-route-tier': 'small' })).status).toBe(200);
    await p.close();
    const small = noCapacity(sent(), 'small');
    expect(small.reduce((a, d) => a + (d.Value ?? 0), 0)).toBe(1);
    for (const d of small) expect(d.StorageResolution).toBe(1);
  });
});
