/**
 * Shadow comparison over real HTTP: a sampled request's client response is the same bytes with
 * sampling on or off, whatever the comparison tier or the store does; the pair stored holds the
 * prompt, the decision and both answers; shadow requests are bounded, dropped first, counted, and
 * never charged to the comparison tier's breaker or its client-traffic metrics.
 */
import { gunzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { ProxyHandle } from '../../proxy/src/server';
import { chat, post, readyz, resetSimulators, send, startProxyOn, startStack, waitFor, type Raw, type Stack } from './harness';
import { STUB_TEXT, startStubTier, type StubTier } from './shadow-tier-stub';

jest.setTimeout(30_000);

const SIMPLE = 'What are your opening hours on weekends?';
const PATH = '/v1/chat/completions';
const s3 = mockClient(S3Client);

let stack: Stack;
let stub: StubTier;
let off: ProxyHandle;
let on: ProxyHandle;

/** Tiers: the deterministic stub as the small tier, the simulator as the large one. */
const tiers = () => [
  { name: 'small', baseUrl: stub.url, model: 'llama-3.1-8b', pricePer1kOutputTokensUsd: 0.0002 },
  { name: 'large', baseUrl: stack.large.url, model: 'llama-3.1-70b', pricePer1kOutputTokensUsd: 0.002 },
];
const common = () => ({ tiers: tiers(), dispatch: { breaker: { failures: 2, windowMs: 10_000, cooldownMs: 60_000 } } });
const sampling = (extra: Record<string, unknown> = {}) => ({
  shadow: { sampleRate: 1, maxTokens: 7, timeoutMs: 5000, store: { bucket: 'pairs-bucket', prefix: 'pairs/', region: 'us-east-1', batchMaxPairs: 1 }, ...extra },
});

beforeAll(async () => {
  stack = await startStack();
  stub = await startStubTier();
  off = (await startProxyOn(stack, common())).proxy;
  on = (await startProxyOn(stack, { ...common(), ...sampling() }, { s3: new S3Client({ region: 'us-east-1' }) })).proxy;
});
afterAll(async () => {
  await Promise.all([off?.close(), on?.close()]);
  await stub?.close();
  await stack?.close();
});
beforeEach(() => {
  resetSimulators(stack);
  s3.reset();
  s3.on(PutObjectCommand).resolves({});
});

const largeCalls = () => stack.large.stats().byPath[PATH] ?? 0;

async function metric(url: string, series: string): Promise<number> {
  const text = (await send(url, { method: 'GET', path: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Waits until every shadow comparison started has ended: its pair stored or counted as dropped. */
async function settled(url: string): Promise<void> {
  await waitFor(async () => {
    const text = (await send(url, { method: 'GET', path: '/metrics' })).body;
    const sum = (prefix: string) => text.split('\n').filter((l) => l.startsWith(prefix)).reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    return sum('ShadowSamples ') === sum('ShadowPairsStored ') + sum('ShadowDropped{');
  }, 3000);
}

/** What a client sees, minus the Date header. */
function seen(r: Raw): { status: number; headers: Record<string, unknown>; body: string } {
  const { date: _date, ...headers } = r.headers;
  return { status: r.status, headers, body: r.body };
}

/** The pairs written to the mocked bucket so far. */
function storedPairs(): Array<Record<string, any>> {
  return s3.commandCalls(PutObjectCommand).flatMap((c) => {
    const body = c.args[0].input.Body as Buffer;
    return gunzipSync(body).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
  });
}

describe('shadow comparison never changes the client response', () => {
  const cases: Array<[string, () => void]> = [
    ['the large tier is slow', () => stack.large.pushFault({ kind: 'delay', ms: 1500 })],
    ['the large tier fails', () => stack.large.pushFault({ kind: 'status', status: 500 })],
    ['the large tier resets the connection', () => stack.large.pushFault({ kind: 'reset-before-headers' })],
    ['the store fails', () => s3.on(PutObjectCommand).rejects(new Error('AccessDenied'))],
  ];
  for (const stream of [false, true]) {
    for (const [what, fault] of cases) {
      test(`${stream ? 'streamed' : 'non-streamed'}: byte-identical answer while ${what}`, async () => {
        const body = chat(SIMPLE, { stream });
        const id = { 'x-request-id': `same-${stream}-${what.replace(/\W+/g, '-')}` };
        const plain = await post(off.url, PATH, body, id);
        expect(plain.status).toBe(200);
        expect(plain.headers['x-route-tier']).toBe('small');
        expect(largeCalls()).toBe(0);
        fault();
        const sampled = await post(on.url, PATH, body, id);
        const storedWhenClientDone = storedPairs().filter((p) => p.id === id['x-request-id']).length;
        expect(seen(sampled)).toEqual(seen(plain));
        await waitFor(() => largeCalls() === 1, 3000);
        if (what === 'the large tier is slow') {
          // The client had its whole answer before the comparison's answer came, which is still awaited.
          expect(storedWhenClientDone).toBe(0);
          expect(stack.large.stats().active).toBe(1);
          await waitFor(() => storedPairs().some((p) => p.id === id['x-request-id']), 3000);
        }
        await waitFor(() => stack.large.stats().active === 0, 3000);
        await settled(on.url);
      });
    }
  }
});

describe('stored pairs', () => {
  test('a sampled request stores its prompt, the decision and both answers; the shadow request is non-streamed and capped', async () => {
    const body = chat(SIMPLE, { stream: true, max_tokens: 50 });
    const r = await post(on.url, PATH, body, { 'x-request-id': 'pair-1' });
    expect(r.status).toBe(200);
    await waitFor(() => storedPairs().length === 1, 3000);
    const [pair] = storedPairs();
    expect(pair).toMatchObject({
      id: 'pair-1',
      endpoint: 'chat',
      prompt: [{ role: 'user', content: SIMPLE }],
      served: 'small',
      decision: { tier: 'small', reason: r.headers['x-route-reason'] },
      small: { tier: 'small', model: 'llama-3.1-8b', text: STUB_TEXT, truncated: false, finish_reason: 'stop', usage: { prompt_tokens: 12, completion_tokens: 9 } },
      large: { tier: 'large', model: 'llama-3.1-70b', truncated: false },
    });
    expect(pair.decision.score.toFixed(3)).toBe(r.headers['x-route-score']);
    expect(pair.decision.confidence.toFixed(3)).toBe(r.headers['x-route-confidence']);
    expect(pair.large.text.length).toBeGreaterThan(0);
    expect(pair.large.usage.completion_tokens).toBeLessThanOrEqual(7);
    expect(Date.parse(pair.time)).not.toBeNaN();
    const sent = stack.large.stats().lastBodies.at(-1) as Record<string, unknown>;
    expect(sent).toMatchObject({ model: 'llama-3.1-70b', stream: false, max_tokens: 7, messages: [{ role: 'user', content: SIMPLE }] });
    expect(sent.stream_options).toBeUndefined();
    const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put.Bucket).toBe('pairs-bucket');
    expect(put.Key).toMatch(/^pairs\/dt=\d{4}-\d{2}-\d{2}\/\d{6}-[0-9a-f]{8}-\d{6}\.jsonl\.gz$/);
  });

  test('a non-streamed answer is captured from its JSON', async () => {
    const r = await post(on.url, PATH, chat(SIMPLE), { 'x-request-id': 'pair-json' });
    expect(r.status).toBe(200);
    await waitFor(() => storedPairs().length === 1, 3000);
    expect(storedPairs()[0]).toMatchObject({ id: 'pair-json', small: { text: STUB_TEXT, finish_reason: 'stop' } });
  });

  test('requests the router decided for the large tier, or that the client named, are not sampled', async () => {
    await post(on.url, PATH, chat('Prove that there are infinitely many primes.'), { 'x-request-id': 'keyword' });
    await post(on.url, PATH, { ...chat(SIMPLE), model: 'llama-3.1-8b' }, { 'x-request-id': 'named' });
    await new Promise((r) => setTimeout(r, 200));
    expect(largeCalls()).toBe(1);
    expect(stub.bodies.at(-1)?.model).toBe('llama-3.1-8b');
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe('load and failures', () => {
  test('with sampling off nothing is sent to the large tier or the store, and no shadow series exist', async () => {
    for (let i = 0; i < 3; i++) expect((await post(off.url, PATH, chat(SIMPLE))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(largeCalls()).toBe(0);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    const text = (await send(off.url, { method: 'GET', path: '/metrics' })).body;
    expect(text).not.toMatch(/^Shadow/m);
  });

  test('at the concurrency bound a new sample is dropped and counted, and only the bound reaches the tier', async () => {
    const { proxy } = await startProxyOn(stack, { ...common(), ...sampling({ maxConcurrent: 1 }) }, { s3: new S3Client({ region: 'us-east-1' }) });
    try {
      stack.large.pushFault({ kind: 'delay', ms: 1000, times: 3 });
      for (let i = 0; i < 3; i++) {
        expect((await post(proxy.url, PATH, chat(SIMPLE))).status).toBe(200);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await metric(proxy.url, 'ShadowSamples')).toBe(1);
      expect(await metric(proxy.url, 'ShadowDropped{Reason="Busy"}')).toBe(2);
      await waitFor(async () => (await metric(proxy.url, 'ShadowPairsStored')) === 1, 3000);
      expect(largeCalls()).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  test('failing shadow requests are counted, never charged to the large tier breaker or its client metrics', async () => {
    const { proxy } = await startProxyOn(stack, { ...common(), ...sampling() }, { s3: new S3Client({ region: 'us-east-1' }) });
    try {
      stack.large.pushFault({ kind: 'status', status: 500, times: 4 });
      for (let i = 0; i < 4; i++) {
        expect((await post(proxy.url, PATH, chat(SIMPLE))).status).toBe(200);
        await waitFor(() => largeCalls() === i + 1, 3000);
      }
      await waitFor(async () => (await metric(proxy.url, 'ShadowDropped{Reason="ShadowFailed"}')) === 4, 3000);
      expect((await readyz(proxy.url)).body.tiers.large.breaker).toBe('closed');
      expect(await metric(proxy.url, 'UpstreamErrors{Tier="large"}')).toBe(0);
      expect(await metric(proxy.url, 'RoutedRequests{Tier="large"}')).toBe(0);
      expect(await metric(proxy.url, 'NoCapacityRequests{Tier="large"}')).toBe(0);
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    } finally {
      await proxy.close();
    }
  });

  test('a store failure is counted with the pairs it dropped', async () => {
    s3.on(PutObjectCommand).rejects(new Error('AccessDenied'));
    const { proxy } = await startProxyOn(stack, { ...common(), ...sampling() }, { s3: new S3Client({ region: 'us-east-1' }) });
    try {
      expect((await post(proxy.url, PATH, chat(SIMPLE))).status).toBe(200);
      await waitFor(async () => (await metric(proxy.url, 'ShadowStoreErrors')) === 1, 3000);
      expect(await metric(proxy.url, 'ShadowDropped{Reason="StoreFailed"}')).toBe(1);
      expect(await metric(proxy.url, 'ShadowPairsStored')).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  test('an open breaker on the large tier drops the sample without a shadow request', async () => {
    const { proxy } = await startProxyOn(stack, { ...common(), ...sampling(), allowTierOverride: true }, { s3: new S3Client({ region: 'us-east-1' }) });
    try {
      stack.large.pushFault({ kind: 'status', status: 500, times: 10 });
      // Client requests to the large tier fail and open its breaker (2 failures).
      for (let i = 0; i < 2; i++) await post(proxy.url, PATH, { ...chat(SIMPLE), model: 'llama-3.1-70b' });
      expect((await readyz(proxy.url)).body.tiers.large.breaker).toBe('open');
      const before = largeCalls();
      expect((await post(proxy.url, PATH, chat(SIMPLE))).status).toBe(200);
      await waitFor(async () => (await metric(proxy.url, 'ShadowDropped{Reason="TierUnavailable"}')) === 1, 3000);
      expect(largeCalls()).toBe(before);
      expect(await metric(proxy.url, 'ShadowSamples')).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});
