import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as body from '../../proxy/src/body';
import { Attempt } from '../../proxy/src/dispatch/attempt';
import { Exchange } from '../../proxy/src/dispatch/exchange';
import * as prometheus from '../../proxy/src/metrics/prometheus';
import * as router from '../../proxy/src/routing/router';
import * as sse from '../../proxy/src/sse';
import { SseRelay } from '../../proxy/src/sse';
import { Upstream } from '../../proxy/src/upstream';
import * as validate from '../../proxy/src/validate';
import { chat, post, send, sseData, resetSimulators, startProxyOn, startStack, type Raw, type Stack } from './harness';
import { memoryLogger } from './helpers';

jest.setTimeout(30_000);

const ROOT = path.resolve(__dirname, '..', '..');

let stack: Stack;
let logLines: string[];
beforeAll(async () => {
  logLines = [];
  stack = await startStack({ deps: { logger: memoryLogger(logLines, 'info') } });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  resetSimulators(stack);
  logLines.length = 0;
});
afterEach(() => jest.restoreAllMocks());

/** A chat body whose `x` field nests `depth` arrays. */
function nested(depth: number, model = 'auto'): string {
  return `{"model":"${model}","messages":[{"role":"user","content":"hi"}],"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

function expectOpenAiError(r: Raw, status: number, code: string): void {
  expect(r.status).toBe(status);
  expect(r.headers['content-type']).toBe('application/json');
  const parsed = JSON.parse(r.body) as { error: Record<string, unknown> };
  expect(parsed).toEqual({ error: { message: expect.any(String), type: expect.any(String), param: null, code } });
}

/** The server still answers health checks and routes a normal request. */
async function expectStillServing(): Promise<void> {
  expect((await send(stack.proxy.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
  const r = await post(stack.proxy.url, '/v1/chat/completions', chat('What are your opening hours?'));
  expect(r.status).toBe(200);
  expect(r.headers['x-route-tier']).toBeDefined();
}

/** Log lines of failures inside the proxy (pino level 50). */
const failureLines = () => logLines.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.level === 50);

describe('JSON nesting depth', () => {
  test('a 5,000-level body with model auto is a 400 naming the limit, and the server goes on', async () => {
    const r = await post(stack.proxy.url, '/v1/chat/completions', nested(5000));
    expectOpenAiError(r, 400, 'json_too_deep');
    expect(JSON.parse(r.body).error.message).toMatch(/deeper than 128 levels \(limits\.maxJsonDepth\)/);
    expect(stack.small.stats().requests + stack.large.stats().requests).toBe(0);
    await expectStillServing();
  });

  test('a body at limits.maxJsonDepth is served, one level deeper is refused', async () => {
    const { proxy } = await startProxyOn(stack, { limits: { maxJsonDepth: 12 } });
    try {
      // Root object, x's arrays: 1 + 11 = 12 levels.
      expect((await post(proxy.url, '/v1/chat/completions', nested(11))).status).toBe(200);
      expectOpenAiError(await post(proxy.url, '/v1/chat/completions', nested(12)), 400, 'json_too_deep');
    } finally {
      await proxy.close();
    }
  });
});

describe('an error inside the proxy ends that request alone', () => {
  const injected = () => new Error('injected failure');
  const cases: Array<[string, () => void, () => Promise<Raw>]> = [
    ['reading the body', () => jest.spyOn(body, 'parseJsonBody').mockImplementationOnce(() => { throw injected(); }), () => post(stack.proxy.url, '/v1/chat/completions', chat('hi'))],
    ['validating it', () => jest.spyOn(validate, 'validateBody').mockImplementationOnce(() => { throw injected(); }), () => post(stack.proxy.url, '/v1/chat/completions', chat('hi'))],
    ['scoring the prompt', () => jest.spyOn(router, 'scoreText').mockRejectedValueOnce(injected()), () => post(stack.proxy.url, '/v1/chat/completions', chat('What are your opening hours?'))],
    ['dispatching it', () => jest.spyOn(Exchange.prototype, 'run').mockImplementationOnce(() => { throw injected(); }), () => post(stack.proxy.url, '/v1/chat/completions', chat('hi', { model: 'llama-3.1-8b' }))],
    [
      "taking a tier's answer",
      () => jest.spyOn(Attempt.prototype, 'onHead').mockImplementationOnce(() => { throw injected(); }),
      () => post(stack.proxy.url, '/v1/chat/completions', chat('hi', { model: 'llama-3.1-8b' })),
    ],
    ['probing readiness', () => jest.spyOn(Upstream.prototype, 'health').mockImplementationOnce(() => { throw injected(); }), () => send(stack.proxy.url, { method: 'GET', path: '/readyz' })],
    ['rendering metrics', () => jest.spyOn(prometheus, 'renderPrometheus').mockImplementationOnce(() => { throw injected(); }), () => send(stack.proxy.url, { method: 'GET', path: '/metrics' })],
  ];

  test.each(cases)('%s: a 500 in the OpenAI shape, one error log line, the server goes on', async (_what, inject, request) => {
    inject();
    const r = await request();
    expectOpenAiError(r, 500, 'internal_error');
    expect(r.body).not.toContain('injected');
    await new Promise((res) => setTimeout(res, 20));
    const lines = failureLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request failed inside the proxy', err: { message: 'injected failure' } });
    await expectStillServing();
  });

  test('relaying a stream: an SSE error frame and no [DONE], one error log line, the server goes on', async () => {
    jest.spyOn(SseRelay.prototype, 'push').mockImplementationOnce(() => {
      throw injected();
    });
    const r = await post(stack.proxy.url, '/v1/chat/completions', chat('hi', { model: 'llama-3.1-8b', stream: true }));
    expect(r.status).toBe(200);
    const frames = sseData(r.body);
    expect(frames).not.toContain('[DONE]');
    expect(JSON.parse(frames[frames.length - 1])).toEqual({ error: { message: expect.any(String), type: 'server_error', param: null, code: 'internal_error' } });
    await new Promise((res) => setTimeout(res, 20));
    const lines = failureLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request failed inside the proxy', requestId: r.headers['x-request-id'], err: { message: 'injected failure' } });
    await expectStillServing();
  });
});

test('relaying a JSON answer: the connection is cut (its head is out), one error log line, the server goes on', async () => {
  jest.spyOn(sse, 'usageFromJson').mockImplementationOnce(() => {
    throw new Error('injected failure');
  });
  const outcome = await post(stack.proxy.url, '/v1/chat/completions', chat('hi', { model: 'llama-3.1-8b' })).then(
    (r) => `status ${r.status}`,
    (e: Error) => e.message,
  );
  expect(outcome).toMatch(/socket hang up|aborted|ECONNRESET/);
  await new Promise((res) => setTimeout(res, 20));
  const lines = failureLines();
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ msg: 'request failed inside the proxy', err: { message: 'injected failure' } });
  await expectStillServing();
});

test('an error no request caught is logged as one JSON line and the process goes on', () => {
  const script = [
    "const pino = require('pino');",
    "const { installProcessGuard } = require('./proxy/src/guard');",
    'installProcessGuard(pino());',
    "setTimeout(() => { throw new Error('stray callback'); }, 0);",
    "Promise.reject(new Error('stray rejection'));",
    "setTimeout(() => { process.stdout.write('still running\\n'); }, 100);",
  ].join('\n');
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  expect(run.status).toBe(0);
  const lines = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  expect(lines.map((l) => l.err.message).sort()).toEqual(['stray callback', 'stray rejection']);
  expect(lines.every((l) => l.msg === 'uncaught error inside the proxy; the server goes on')).toBe(true);
  expect(run.stdout).toContain('still running');
});
