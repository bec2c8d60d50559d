import { DEMO_MODELS, DEMO_PROMPTS, DemoHandle, demoInstructions, parseDemoArgs, startDemo } from '../../tools/demo';
import { request, sseData } from './http-helpers';

// The embedding simulator runs the Universal Sentence Encoder on the CPU: the proxy embeds its
// exemplars through it at start-up, which takes seconds on a busy machine.
jest.setTimeout(120_000);

describe('npm run demo', () => {
  let demo: DemoHandle;
  beforeAll(async () => {
    demo = await startDemo({ ports: { proxy: 0, small: 0, large: 0, embedding: 0, scorer: 0 }, logLevel: 'silent' });
  });
  afterAll(() => demo?.close());

  const ask = (prompt: string, extra: Record<string, unknown> = {}) =>
    request(demo.proxyUrl, '/v1/chat/completions', {
      body: { model: 'auto', messages: [{ role: 'user', content: prompt }], ...extra },
      headers: { authorization: `Bearer ${demo.apiKey}` },
    });

  test('routes the simple prompt to the small tier and the hard one to the large tier', async () => {
    demo.simulators.small.resetStats();
    demo.simulators.large.resetStats();
    const simple = await ask(DEMO_PROMPTS.simple);
    expect(simple.status).toBe(200);
    expect(simple.headers['x-route-tier']).toBe('small');
    expect(JSON.parse(simple.text).model).toBe(DEMO_MODELS.small);
    const hard = await ask(DEMO_PROMPTS.hard);
    expect(hard.status).toBe(200);
    expect(hard.headers['x-route-tier']).toBe('large');
    expect(hard.headers['x-route-reason']).toBe('score');
    expect(Number(hard.headers['x-route-score'])).toBeGreaterThanOrEqual(0.65);
    expect(demo.simulators.small.stats().completed).toBe(1);
    expect(demo.simulators.large.stats().completed).toBe(1);
    expect(demo.simulators.scorer.stats().requests).toBeGreaterThanOrEqual(1);
  });

  test('streams through the proxy to [DONE]', async () => {
    const res = await ask(DEMO_PROMPTS.hard, { stream: true });
    expect(res.status).toBe(200);
    expect(res.headers['x-route-tier']).toBe('large');
    expect(sseData(res.text).pop()).toBe('[DONE]');
  });

  test('the printed instructions name the routing headers and working commands', () => {
    const text = demoInstructions(demo);
    for (const h of ['x-route-tier', 'x-route-score', 'x-route-reason']) expect(text).toContain(h);
    expect(text).toContain(`curl -s -i ${demo.proxyUrl}/v1/chat/completions`);
    expect(text).toContain(`Bearer ${demo.apiKey}`);
  });

  test('port flags are parsed and bad ones refused', () => {
    expect(parseDemoArgs(['--proxy-port', '18080', '--scorer-port', '0'])).toEqual({ proxy: 18080, scorer: 0 });
    expect(() => parseDemoArgs(['--proxy-port', 'eighty'])).toThrow(/--proxy-port: got "eighty"/);
    expect(() => parseDemoArgs(['--tier-port', '1'])).toThrow(/tier-port/);
  });
});
