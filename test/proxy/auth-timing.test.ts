/** The per-connection repeat of an API key is compared in constant time, as a first check is. */
import * as crypto from 'node:crypto';
import { ApiKeyChecker } from '../../proxy/src/auth';

jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

const timingSafeEqual = crypto.timingSafeEqual as jest.MockedFunction<typeof crypto.timingSafeEqual>;

test('a load balancer shares connections between clients: the repeat of a header is compared in constant time, never with ===', () => {
  const k = new ApiKeyChecker(['sk-one']);
  const conn = {};
  expect(k.checkOn(conn, 'Bearer sk-one')).toBe(true);
  timingSafeEqual.mockClear();
  const hash = jest.spyOn(k, 'check');
  expect(k.checkOn(conn, 'Bearer sk-one')).toBe(true);
  expect(hash).not.toHaveBeenCalled();
  expect(timingSafeEqual).toHaveBeenCalledTimes(1);
  const [x, y] = timingSafeEqual.mock.calls[0] as unknown as [Buffer, Buffer];
  expect([x.toString(), y.toString()]).toEqual(['Bearer sk-one', 'Bearer sk-one']);
  // Same length, another key: compared in constant time, then checked in full, and refused.
  timingSafeEqual.mockClear();
  expect(k.checkOn(conn, 'Bearer sk-two')).toBe(false);
  expect(hash).toHaveBeenCalledTimes(1);
  expect(timingSafeEqual.mock.calls.length).toBeGreaterThanOrEqual(2);
});
