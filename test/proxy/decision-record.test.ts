/**
 * One decision record feeds the route headers and the request's log line: after a failover both
 * name the tier that served and the same reason.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { DecisionRecord, ROUTE_HEADERS } from '../../proxy/src/dispatch/decision';
import { chat, post, resetSimulators, startStack, waitFor, type Stack } from './harness';

jest.setTimeout(30_000);

const SIMPLE = 'What are your opening hours on weekends?';
const PATH = '/v1/chat/completions';

let stack: Stack;
const lines: Array<Record<string, unknown>> = [];
beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  stack = await startStack({
    config: { logBufferBytes: 0, dispatch: { retries: 1, maxAttempts: 3 } },
    deps: { logger: pino({ level: 'info' }, sink) },
  });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => resetSimulators(stack));

async function requestLine(requestId: string): Promise<Record<string, unknown>> {
  await waitFor(() => lines.some((l) => l.requestId === requestId && (l.msg === 'request' || l.msg === 'request failed')), 3000);
  return lines.find((l) => l.requestId === requestId && (l.msg === 'request' || l.msg === 'request failed'))!;
}

describe('decision record', () => {
  test('after a failover, the log line names the same tier and reason as the route headers', async () => {
    const plain = await post(stack.proxy.url, PATH, chat(SIMPLE), { 'x-request-id': 'decided-plain' });
    expect(plain.headers['x-route-tier']).toBe('small');
    const decidedReason = plain.headers['x-route-reason'] as string;
    expect(decidedReason).not.toMatch(/^fallback:/);

    stack.small.pushFault({ kind: 'status', status: 503, times: 2 });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE), { 'x-request-id': 'decided-failover' });
    expect(r.status).toBe(200);
    expect(r.headers['x-route-tier']).toBe('large');
    expect(r.headers['x-route-reason']).toBe('fallback:failover-from-small');
    const line = await requestLine('decided-failover');
    expect(line).toMatchObject({ tier: r.headers['x-route-tier'], reason: r.headers['x-route-reason'] });
    expect((line.score as number).toFixed(3)).toBe(r.headers['x-route-score']);
    expect(line).toMatchObject({ decidedTier: 'small', decidedReason, route: ['failover:small>large'] });

    const same = await requestLine('decided-plain');
    expect(same).toMatchObject({ tier: 'small', reason: decidedReason });
    expect(same.decidedTier).toBeUndefined();
    expect(same.route).toBeUndefined();
  });

  test('a request no tier could serve: its 503 headers and its log line tell the same story', async () => {
    stack.small.pushFault({ kind: 'status', status: 500, times: 5 });
    stack.large.pushFault({ kind: 'status', status: 500, times: 5 });
    const r = await post(stack.proxy.url, PATH, chat(SIMPLE), { 'x-request-id': 'decided-none' });
    expect(r.status).toBe(503);
    const line = await requestLine('decided-none');
    expect(line).toMatchObject({ status: 503, tier: r.headers['x-route-tier'], reason: r.headers['x-route-reason'] });
  });
});

describe('decision record rendering', () => {
  const names = ['small', 'large'];
  const show = (d: DecisionRecord) => {
    const h = d.headers();
    const out: Record<string, string> = {};
    for (let i = 0; i < h.length; i += 2) out[h[i]] = h[i + 1];
    return { headers: out, log: { tier: d.tierName(d.tier), reason: d.reason, decidedTier: d.decidedTier, decidedReason: d.decidedReason, route: d.route } };
  };

  test.each<[string, (d: DecisionRecord) => void, Record<string, string>, Record<string, unknown>]>([
    ['served where decided', () => undefined, { 'x-route-tier': 'small', 'x-route-score': '0.420', 'x-route-reason': 'fast-path', 'x-request-id': 'r1' }, { tier: 'small', reason: 'fast-path', route: undefined }],
    ['retried on the decided tier only', (d) => d.moveTo(0, 'failover'), { 'x-route-tier': 'small', 'x-route-reason': 'fast-path' }, { tier: 'small', reason: 'fast-path', decidedTier: undefined, route: undefined }],
    [
      'failed over',
      (d) => d.moveTo(1, 'failover'),
      { 'x-route-tier': 'large', 'x-route-reason': 'fallback:failover-from-small' },
      { tier: 'large', reason: 'fallback:failover-from-small', decidedTier: 'small', decidedReason: 'fast-path', route: ['failover:small>large'] },
    ],
    [
      'spilled from an empty tier',
      (d) => d.moveTo(1, 'spill'),
      { 'x-route-tier': 'large', 'x-route-reason': 'fallback:spill-from-small' },
      { tier: 'large', reason: 'fallback:spill-from-small', decidedReason: 'fast-path', route: ['spill:small>large'] },
    ],
    [
      'spilled, then held for the next tier',
      (d) => {
        d.moveTo(1, 'spill');
        d.held(1, 1234.4);
      },
      { 'x-route-tier': 'large', 'x-route-reason': 'fallback:spill-from-small' },
      { tier: 'large', route: ['spill:small>large', 'hold:large:1234ms'] },
    ],
    ['held for the decided tier', (d) => d.held(0, 80), { 'x-route-tier': 'small', 'x-route-reason': 'fast-path' }, { tier: 'small', reason: 'fast-path', decidedReason: undefined, route: ['hold:small:80ms'] }],
  ])('%s', (_name, act, headers, log) => {
    const d = new DecisionRecord({ tier: 0, score: 0.42, reason: 'fast-path' }, 'r1', names);
    act(d);
    const shown = show(d);
    expect(shown.headers).toMatchObject(headers);
    expect(shown.log).toMatchObject(log);
  });

  test('headers come out in the order of the renderer table, the request id last', () => {
    const d = new DecisionRecord({ tier: 1, score: undefined, reason: 'override' }, 'r2', names);
    const h = d.headers();
    expect(h.filter((_, i) => i % 2 === 0)).toEqual(ROUTE_HEADERS.map(([name]) => name));
    expect(h).toEqual(['x-route-tier', 'large', 'x-route-score', 'n/a', 'x-route-reason', 'override', 'x-route-confidence', 'n/a', 'x-request-id', 'r2']);
    expect(d.headers(['retry-after', '1'])).toEqual(['retry-after', '1', ...h]);
  });
});
