import fc from 'fast-check';
import { jsonDepthExceeds, parseJsonBody } from '../../proxy/src/body';

/** Nesting depth of a parsed JSON value, computed the obvious (recursive) way. */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v !== null && typeof v === 'object') return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('jsonDepthExceeds', () => {
  test('counts objects and arrays; the limit itself passes, one level more does not', () => {
    expect(jsonDepthExceeds(bytes('{"a":[[1]]}'), 3)).toBe(false);
    expect(jsonDepthExceeds(bytes('{"a":[[1]]}'), 2)).toBe(true);
    expect(jsonDepthExceeds(bytes('"[[[[["'), 1)).toBe(false);
    expect(jsonDepthExceeds(bytes('[1,[2],[3],[4]]'), 2)).toBe(false);
  });

  test('brackets inside strings do not count, escaped quotes do not end a string', () => {
    expect(jsonDepthExceeds(bytes('{"a":"[[[{{{"}'), 1)).toBe(false);
    expect(jsonDepthExceeds(bytes('{"a":"say \\"[[[\\" twice"}'), 1)).toBe(false);
    expect(jsonDepthExceeds(bytes('{"a":"ends with a backslash \\\\","b":[[1]]}'), 2)).toBe(true);
    expect(jsonDepthExceeds(bytes('{"a":"\\\\\\"[[[","b":1}'), 1)).toBe(false);
  });

  test('5,000 levels are caught at once', () => {
    expect(jsonDepthExceeds(bytes(`{"x":${'['.repeat(5000)}${']'.repeat(5000)}}`), 128)).toBe(true);
  });

  test('agrees with the recursive depth on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 14 }), (v, limit) => {
        expect(jsonDepthExceeds(bytes(JSON.stringify(v)), limit)).toBe(depthOf(v) > limit);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseJsonBody', () => {
  const limits = { maxJsonDepth: 4 };

  test('parses a JSON body', () => {
    const r = parseJsonBody(bytes('{"messages":[{"role":"user","content":"hi"}]}'), limits);
    expect(r).toMatchObject({ ok: true, body: { messages: [{ role: 'user', content: 'hi' }] } });
  });

  test('a body nested past the limit is a 400 naming limits.maxJsonDepth', () => {
    const r = parseJsonBody(bytes('{"a":[[[[1]]]]}'), limits);
    expect(r).toEqual({
      ok: false,
      error: { status: 400, type: 'invalid_request_error', param: null, code: 'json_too_deep', message: expect.stringMatching(/deeper than 4 levels \(limits\.maxJsonDepth\)/) },
    });
  });

  test('a byte-order mark is dropped, also from the bytes sent on', () => {
    const r = parseJsonBody(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('{"a":1}')]), limits);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.raw.toString('utf8')).toBe('{"a":1}');
  });

  test('invalid UTF-8 is a 400, not a silent replacement character', () => {
    const r = parseJsonBody(Buffer.concat([bytes('{"a":"'), Buffer.from([0xc3, 0x28]), bytes('"}')]), limits);
    expect(r).toMatchObject({ ok: false, error: { status: 400, code: 'invalid_encoding' } });
    expect(parseJsonBody(Buffer.from('{"a":1}', 'utf16le'), limits)).toMatchObject({ ok: false, error: { status: 400 } });
  });

  test('text that is not JSON is a 400', () => {
    expect(parseJsonBody(bytes('{"a":'), limits)).toMatchObject({ ok: false, error: { status: 400, code: 'invalid_json' } });
    expect(parseJsonBody(bytes(''), limits)).toMatchObject({ ok: false, error: { status: 400, code: 'invalid_json' } });
  });
});
