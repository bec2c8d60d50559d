import { isPrivateAddress } from '../../proxy/src/ops-access';
import { KEY, send, startProxyOn, startStack, type Raw, type Stack } from './harness';

jest.setTimeout(30_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

/** How the public load balancer relays an internet client's request. */
const VIA_ALB = { 'x-forwarded-for': '203.0.113.9', 'x-amzn-trace-id': 'Root=1-67891233-abcdef012345678912345678' };
const get = (url: string, path: string, headers: Record<string, string> = {}): Promise<Raw> => send(url, { method: 'GET', path, headers });

test('private and loopback addresses are told apart from public ones', () => {
  for (const a of ['127.0.0.1', '10.42.3.4', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '169.254.169.254', '::1', '::ffff:10.0.0.7', 'fd00::1', 'fe80::1']) {
    expect([a, isPrivateAddress(a)]).toEqual([a, true]);
  }
  for (const a of ['203.0.113.9', '8.8.8.8', '172.32.0.1', '100.128.0.1', '::ffff:8.8.8.8', '2001:db8::1', '', undefined, 'not-an-ip']) {
    expect([a, isPrivateAddress(a)]).toEqual([a, false]);
  }
});

describe('by default (opsAccess "private")', () => {
  test.each(['/readyz', '/metrics'])('%s answers a direct caller on a private address without a key', async (path) => {
    expect((await get(stack.proxy.url, path)).status).toBe(200);
  });

  test.each(['/readyz', '/metrics'])('%s relayed by a load balancer needs the API key', async (path) => {
    const refused = await get(stack.proxy.url, path, VIA_ALB);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toEqual({ error: { message: expect.any(String), type: 'authentication_error', param: null, code: 'invalid_api_key' } });
    expect((await get(stack.proxy.url, path, { 'x-amzn-trace-id': VIA_ALB['x-amzn-trace-id'] })).status).toBe(401);
    expect((await get(stack.proxy.url, path, { forwarded: 'for=203.0.113.9' })).status).toBe(401);
    expect((await get(stack.proxy.url, path, { ...VIA_ALB, authorization: `Bearer ${KEY}` })).status).toBe(200);
  });

  test('/healthz stays open to every caller (load balancer and container health checks)', async () => {
    expect((await get(stack.proxy.url, '/healthz', VIA_ALB)).status).toBe(200);
  });
});

test('opsAccess "public" serves /readyz and /metrics to anyone', async () => {
  const { proxy } = await startProxyOn(stack, { opsAccess: 'public' });
  try {
    expect((await get(proxy.url, '/readyz', VIA_ALB)).status).toBe(200);
    expect((await get(proxy.url, '/metrics', VIA_ALB)).status).toBe(200);
  } finally {
    await proxy.close();
  }
});

test('metrics.prometheusRequiresAuth asks every caller of /metrics for the key', async () => {
  const { proxy } = await startProxyOn(stack, { metrics: { enabled: false, prometheusRequiresAuth: true } });
  try {
    expect((await get(proxy.url, '/metrics')).status).toBe(401);
    expect((await get(proxy.url, '/metrics', { authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect((await get(proxy.url, '/readyz')).status).toBe(200);
  } finally {
    await proxy.close();
  }
});
