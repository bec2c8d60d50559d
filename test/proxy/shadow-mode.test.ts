/**
 * Shadow mode: the router decides and records exactly as in route mode (headers, log line,
 * metrics) while the configured tier serves; a client's override still wins. With sampling on, the
 * client gets the serve tier's answer and the decided tier answers off the client's path.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import { parseProxyConfig } from '../../proxy/src/config';
import type { ProxyHandle } from '../../proxy/src/server';
import { baseDoc, chat, merge, post, resetSimulators, send, startProxyOn, startStack, waitFor, type Stack } from './harness';

jest.setTimeout(30_000);

const SIMPLE = 'What are your opening hours on weekends?';
const PATH = '/v1/chat/completions';

let stack: Stack;
let route: ProxyHandle;
let shadow: ProxyHandle;
let dir: string;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  stack = await startStack();
  dir = mkdtempSync(path.join(tmpdir(), 'shadow-pairs-'));
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  route = (await startProxyOn(stack, {})).proxy;
  shadow = (
    await startProxyOn(
      stack,
      { logBufferBytes: 0, allowTierOverride: true, router: { mode: 'shadow' }, shadow: { sampleRate: 1, store: { directory: dir, batchMaxPairs: 1 } } },
      { logger: pino({ level: 'info' }, sink) },
    )
  ).proxy;
});
afterAll(async () => {
  await Promise.all([route?.close(), shadow?.close()]);
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => resetSimulators(stack));

const calls = (s: Stack['small']) => s.stats().byPath[PATH] ?? 0;

async function metric(url: string, series: string): Promise<number> {
  const text = (await send(url, { method: 'GET', path: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

function pairFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

describe('shadow mode', () => {
  test('the serve tier answers; the headers, the log line and the metrics carry what the router decided', async () => {
    const decided = await post(route.url, PATH, chat(SIMPLE));
    expect(decided.headers['x-route-tier']).toBe('small');
    expect(decided.headers['x-route-shadow-tier']).toBeUndefined();
    resetSimulators(stack);

    const before = await metric(shadow.url, 'ShadowDecisions{Tier="small"}');
    const r = await post(shadow.url, PATH, chat(SIMPLE), { 'x-request-id': 'shadow-1' });
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({
      'x-route-tier': 'large',
      'x-route-reason': 'shadow',
      'x-route-shadow-tier': 'small',
      'x-route-shadow-reason': decided.headers['x-route-reason'],
      'x-route-score': decided.headers['x-route-score'],
      'x-route-confidence': decided.headers['x-route-confidence'],
    });
    expect(calls(stack.large)).toBeGreaterThanOrEqual(1);
    expect(await metric(shadow.url, 'ShadowDecisions{Tier="small"}')).toBe(before + 1);
    expect(await metric(shadow.url, 'RoutedRequests{Tier="large"}')).toBeGreaterThanOrEqual(1);
    await waitFor(() => lines.some((l) => l.requestId === 'shadow-1' && l.msg === 'request'), 3000);
    expect(lines.find((l) => l.requestId === 'shadow-1' && l.msg === 'request')).toMatchObject({ tier: 'large', reason: 'shadow', shadowTier: 'small', shadowReason: decided.headers['x-route-reason'], sampled: true });
  });

  test('with sampling, the decided tier answers off the client path and the pair holds both answers', async () => {
    const r = await post(shadow.url, PATH, chat(SIMPLE, { stream: true }), { 'x-request-id': 'shadow-pair' });
    expect(r.status).toBe(200);
    await waitFor(() => pairFiles().some((f) => gunzipSync(readFileSync(f)).toString().includes('"shadow-pair"')), 3000);
    const file = pairFiles().find((f) => gunzipSync(readFileSync(f)).toString().includes('"shadow-pair"'))!;
    const pair = JSON.parse(gunzipSync(readFileSync(file)).toString().trim()) as Record<string, any>;
    expect(pair).toMatchObject({ id: 'shadow-pair', served: 'large', decision: { tier: 'small' }, small: { tier: 'small', model: 'llama-3.1-8b' }, large: { tier: 'large', model: 'llama-3.1-70b' } });
    expect(stack.small.stats().lastBodies.at(-1)).toMatchObject({ model: 'llama-3.1-8b', stream: false });
    expect(path.relative(dir, file)).toMatch(/^shadow-pairs\/dt=\d{4}-\d{2}-\d{2}\//);
  });

  test('a model name or an x-route-tier header still wins, without shadow headers', async () => {
    const named = await post(shadow.url, PATH, { ...chat(SIMPLE), model: 'llama-3.1-8b' });
    expect(named.headers).toMatchObject({ 'x-route-tier': 'small', 'x-route-reason': 'override' });
    expect(named.headers['x-route-shadow-tier']).toBeUndefined();
    const header = await post(shadow.url, PATH, chat(SIMPLE), { 'x-route-tier': 'small' });
    expect(header.headers).toMatchObject({ 'x-route-tier': 'small', 'x-route-reason': 'override' });
    expect(header.headers['x-route-shadow-tier']).toBeUndefined();
  });

  test('a session is pinned to the decided tier, so later requests are still decided by the router', async () => {
    const sid = { 'x-session-id': 'shadow-session' };
    const first = await post(shadow.url, PATH, chat(SIMPLE), sid);
    const second = await post(shadow.url, PATH, chat(SIMPLE), sid);
    expect(first.headers['x-route-shadow-tier']).toBe('small');
    expect(second.headers).toMatchObject({ 'x-route-tier': 'large', 'x-route-shadow-tier': 'small' });
    expect(second.headers['x-route-shadow-reason']).not.toBe('session');
  });

  test('shadowServeTier picks the serving tier', async () => {
    const { proxy } = await startProxyOn(stack, { router: { mode: 'shadow', shadowServeTier: 'small' } });
    try {
      const r = await post(proxy.url, PATH, chat('Prove that there are infinitely many primes.'));
      expect(r.headers).toMatchObject({ 'x-route-tier': 'small', 'x-route-reason': 'shadow', 'x-route-shadow-tier': 'large', 'x-route-shadow-reason': 'keyword' });
    } finally {
      await proxy.close();
    }
  });
});

describe('shadow configuration', () => {
  const doc = (extra: Record<string, unknown>) => merge(baseDoc('http://a:1', 'http://b:1', 'http://c:1', 'http://d:1'), extra);
  const issues = (extra: Record<string, unknown>): string[] => {
    try {
      parseProxyConfig(doc(extra));
    } catch (e) {
      return (e as { issues: string[] }).issues;
    }
    return [];
  };

  test('defaults: route mode, sampling off', () => {
    const c = parseProxyConfig(doc({}));
    expect(c.router.mode).toBe('route');
    expect(c.shadow).toMatchObject({ sampleRate: 0, maxConcurrent: 4, maxTokens: 1024, maxCaptureChars: 16000, store: { prefix: 'shadow-pairs/', batchMaxPairs: 100, flushIntervalMs: 60000, maxBufferedPairs: 1000 } });
  });

  test('every problem names its field', () => {
    expect(issues({ shadow: { sampleRate: 2 } })).toContainEqual(expect.stringMatching(/^shadow\.sampleRate: got 2, expected a number in \[0, 1\]/));
    expect(issues({ shadow: { sampleRate: 0.1 } })).toContainEqual(expect.stringMatching(/^shadow\.store\.bucket: got nothing with shadow\.sampleRate 0\.1, expected an S3 bucket name/));
    expect(issues({ shadow: { sampleRate: 0.1, store: { bucket: 'b', directory: '/tmp/x' } } })).toContainEqual(expect.stringMatching(/^shadow\.store\.directory: .*expected one store/));
    expect(issues({ router: { mode: 'mirror' } })).toContainEqual(expect.stringMatching(/^router\.mode: got "mirror", expected "route" or "shadow"/));
    expect(issues({ router: { shadowServeTier: 'huge' } })).toContainEqual('router.shadowServeTier: got "huge", expected one of "small", "large"');
    expect(issues({ shadow: { compareTier: 'small' } })).toContainEqual(expect.stringMatching(/^shadow\.compareTier: got "small", expected a tier above the cheapest/));
    expect(issues({ shadow: { maxConcurrent: 0 } })).toContainEqual(expect.stringMatching(/^shadow\.maxConcurrent: got 0, expected an integer from 1 to 64/));
    expect(issues({ shadow: { store: { prefix: '/abs' } } })).toContainEqual(expect.stringMatching(/^shadow\.store\.prefix: got "\/abs", expected a key prefix/));
  });
});
