import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { startVllmSimulator, type SimulatorHandle } from '../../tools/simulator/vllm-simulator';
import { KEY, baseDoc, merge, send, sseData } from './harness';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'proxy', 'src', 'main.ts');

function run(env: Record<string, string>): { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** The port from the proxy's "listening" log line, or 0 when it does not appear within 20 s. */
async function listeningPort(stdout: () => string): Promise<number> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    const m = /"port":(\d+).*routing proxy listening/.exec(stdout());
    if (m) return Number(m[1]);
    await new Promise((r) => setTimeout(r, 50));
  }
  return 0;
}

test('an invalid config exits non-zero with path/got/expected lines and no stack trace', async () => {
  const doc = merge(baseDoc('http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3', 'http://127.0.0.1:4'), { router: { threshold: 1.5, treshold: 1 } });
  const p = run({ LLM_ROUTER_CONFIG: JSON.stringify(doc) });
  const code = await p.exit;
  expect(code).not.toBe(0);
  expect(p.stderr()).toContain('router.threshold: got 1.5, expected a number in [0, 1]');
  expect(p.stderr()).toMatch(/router\.treshold: got an unknown key, expected one of .* \(did you mean "threshold"\?\)/);
  expect(p.stderr()).not.toMatch(/\n\s+at /);
});

test('without API keys the proxy refuses to start; LLM_ROUTER_API_KEYS supplies them', async () => {
  const doc = merge(baseDoc('http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3', 'http://127.0.0.1:4'), { apiKeys: [] });
  const refused = run({ LLM_ROUTER_CONFIG: JSON.stringify(doc) });
  expect(await refused.exit).not.toBe(0);
  expect(refused.stderr()).toMatch(/apiKeys: got none, expected at least one key/);
});

describe('a running process', () => {
  let sims: SimulatorHandle[];
  beforeAll(async () => {
    sims = await Promise.all([
      startVllmSimulator({ role: 'generate', model: 'llama-3.1-8b', chunks: 20, chunkIntervalMs: 20 }),
      startVllmSimulator({ role: 'generate', model: 'llama-3.1-70b', chunks: 20, chunkIntervalMs: 20 }),
      startVllmSimulator({ role: 'embedding', embeddingDims: 64 }),
      startVllmSimulator({ role: 'scorer' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.close()));
  });

  test('serves with keys from LLM_ROUTER_API_KEYS and finishes open streams on SIGTERM before exiting 0', async () => {
    const doc = merge(baseDoc(sims[0].url, sims[1].url, sims[2].url, sims[3].url), { apiKeys: [], metrics: { enabled: false } });
    const p = run({ LLM_ROUTER_CONFIG: JSON.stringify(doc), LLM_ROUTER_API_KEYS: `["${KEY}"]`, PORT: '0' });
    const port = await listeningPort(p.stdout);
    expect(port).toBeGreaterThan(0);
    const url = `http://127.0.0.1:${port}`;
    expect((await send(url, { method: 'GET', path: '/healthz' })).status).toBe(200);
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request({ hostname: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` } }, (res) => {
        let text = '';
        res.on('data', (c) => {
          if (!text) p.child.kill('SIGTERM');
          text += c;
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'llama-3.1-8b', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    });
    expect(sseData(body).pop()).toBe('[DONE]');
    expect(await p.exit).toBe(0);
    expect(p.stdout()).toContain('routing proxy stopped');
    // The request's line was still in the log buffer at SIGTERM: shutdown wrote it out.
    expect(p.stdout()).toMatch(/"msg":"request"/);
    expect(p.stdout()).not.toContain(KEY);
  });

  test('a 5,000-level JSON body is a 400 naming the limit, and the process keeps serving', async () => {
    const doc = merge(baseDoc(sims[0].url, sims[1].url, sims[2].url, sims[3].url), { metrics: { enabled: false } });
    const p = run({ LLM_ROUTER_CONFIG: JSON.stringify(doc), PORT: '0' });
    try {
      const port = await listeningPort(p.stdout);
      expect(port).toBeGreaterThan(0);
      const url = `http://127.0.0.1:${port}`;
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };
      const deep = `{"model":"auto","messages":[{"role":"user","content":"hi"}],"x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      const r = await send(url, { path: '/v1/chat/completions', headers, body: deep }).catch((e: Error) => ({ status: 0, body: e.message, headers: {} }));
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body).error).toMatchObject({ code: 'json_too_deep', message: expect.stringContaining('limits.maxJsonDepth') });
      await new Promise((res) => setTimeout(res, 100));
      expect(p.child.exitCode).toBeNull();
      expect((await send(url, { method: 'GET', path: '/healthz' })).status).toBe(200);
      const ok = await send(url, { path: '/v1/chat/completions', headers, body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'What are your opening hours?' }] }) });
      expect(ok.status).toBe(200);
    } finally {
      p.child.kill('SIGTERM');
      await p.exit;
    }
  });

  test('buffered request log lines reach stdout within the flush interval while the proxy runs', async () => {
    const doc = merge(baseDoc(sims[0].url, sims[1].url, sims[2].url, sims[3].url), { metrics: { enabled: false }, logFlushIntervalMs: 200 });
    const p = run({ LLM_ROUTER_CONFIG: JSON.stringify(doc), PORT: '0' });
    try {
      const port = await listeningPort(p.stdout);
      expect(port).toBeGreaterThan(0);
      const r = await send(`http://127.0.0.1:${port}`, {
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(r.status).toBe(200);
      // One short line is far below the 4096-byte buffer: only the periodic flush can write it.
      const deadline = Date.now() + 3000;
      while (!/"msg":"request"/.test(p.stdout()) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      const line = p.stdout().split('\n').find((l) => l.includes('"msg":"request"'));
      expect(line).toContain('"path":"/v1/chat/completions"');
      expect(p.child.exitCode).toBeNull();
    } finally {
      p.child.kill('SIGTERM');
      await p.exit;
    }
  });
});
