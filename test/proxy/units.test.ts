import { ApiKeyChecker } from '../../proxy/src/auth';
import { CircuitBreaker } from '../../proxy/src/breaker';
import { spliceIncludeUsage } from '../../proxy/src/dispatch/body';
import { failoverOrder, parseRetryAfter } from '../../proxy/src/dispatch/policy';
import { SessionStore } from '../../proxy/src/sessions';
import { SseRelay, endsAtBoundary, frameData, splitFrames, usageFromJson } from '../../proxy/src/sse';
import { validateBody } from '../../proxy/src/validate';
import { isoTime } from '../../proxy/src/log';

const chunk = (obj: unknown) => `data: ${JSON.stringify(obj)}\n\n`;
const content = (t: string) => chunk({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: t } }] });
const usageChunk = chunk({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } });

function relayAll(strip: boolean, pieces: string[]): { out: string; relay: SseRelay } {
  const relay = new SseRelay(strip);
  let out = '';
  for (const p of pieces) {
    const b = relay.push(Buffer.from(p));
    if (b) out += b.toString();
  }
  const rest = relay.end();
  if (rest) out += rest.toString();
  return { out, relay };
}

describe('SSE relay', () => {
  const stream = content('Hel') + content('lo') + usageChunk + 'data: [DONE]\n\n';

  test('passes bytes unchanged and reads usage when the client asked for it', () => {
    const { out, relay } = relayAll(false, [stream]);
    expect(out).toBe(stream);
    expect(relay.usage).toEqual({ promptTokens: 11, completionTokens: 7 });
  });

  test('strips the usage-only chunk when the client did not ask, keeping everything else', () => {
    const { out, relay } = relayAll(true, [stream]);
    expect(out).toBe(content('Hel') + content('lo') + 'data: [DONE]\n\n');
    expect(relay.usage).toEqual({ promptTokens: 11, completionTokens: 7 });
  });

  test.each([1, 3, 7, 50])('frames split across reads every %d bytes come out intact', (n) => {
    const pieces: string[] = [];
    for (let i = 0; i < stream.length; i += n) pieces.push(stream.slice(i, i + n));
    expect(relayAll(false, pieces).out).toBe(stream);
    const stripped = relayAll(true, pieces);
    expect(stripped.out).toBe(content('Hel') + content('lo') + 'data: [DONE]\n\n');
    expect(stripped.relay.usage).toEqual({ promptTokens: 11, completionTokens: 7 });
  });

  test('CRLF framing, comments and bad JSON pass through and never throw', () => {
    const crlf = `: keep-alive\r\n\r\ndata: {"usage": {bad json\r\n\r\n${usageChunk.replace(/\n/g, '\r\n')}data: [DONE]\r\n\r\n`;
    const pass = relayAll(false, [crlf.slice(0, 10), crlf.slice(10)]);
    expect(pass.out).toBe(crlf);
    expect(pass.relay.usage).toEqual({ promptTokens: 11, completionTokens: 7 });
    const strip = relayAll(true, [crlf]);
    expect(strip.out).toBe(`: keep-alive\r\n\r\ndata: {"usage": {bad json\r\n\r\ndata: [DONE]\r\n\r\n`);
  });

  test('a chunk with usage and choices is kept (continuous usage stats)', () => {
    const both = chunk({ choices: [{ index: 0, delta: { content: 'x' } }], usage: { prompt_tokens: 1, completion_tokens: 1 } });
    expect(relayAll(true, [both]).out).toBe(both);
  });

  test('strip mode: "usage" in earlier frames\' text is kept, the usage-only chunk after it is dropped', () => {
    const mention = content('the "usage" field');
    const mixed = chunk({ choices: [{ index: 0, delta: { content: 'y' } }], usage: { prompt_tokens: 2, completion_tokens: 1 } });
    const { out, relay } = relayAll(true, [mention + mixed + content('z') + usageChunk + 'data: [DONE]\n\n']);
    expect(out).toBe(mention + mixed + content('z') + 'data: [DONE]\n\n');
    expect(relay.usage).toEqual({ promptTokens: 11, completionTokens: 7 });
    // The usage-only chunk alone in a read leaves nothing to forward.
    expect(new SseRelay(true).push(Buffer.from(usageChunk))).toBeUndefined();
  });

  test('a dangling partial frame is flushed unchanged at the end (strip mode)', () => {
    expect(relayAll(true, [content('a'), 'data: {"partial"']).out).toBe(`${content('a')}data: {"partial"`);
  });

  test('tracks whether the forwarded bytes end at a frame boundary', () => {
    const r = new SseRelay(false);
    r.push(Buffer.from('data: {"a":'));
    expect(r.atBoundary).toBe(false);
    r.push(Buffer.from('1}\n\n'));
    expect(r.atBoundary).toBe(true);
  });

  test('frame splitting agrees with a byte-by-byte reading of blank lines on random input', () => {
    // Reference: a frame ends after every empty line (LF, CRLF or CR line ends).
    const reference = (t: string): string[] => {
      const out: string[] = [];
      let start = 0;
      let lineStart = 0;
      for (let i = 0; i < t.length; ) {
        const c = t[i];
        if (c !== '\n' && c !== '\r') {
          i++;
          continue;
        }
        let next = i + 1;
        if (c === '\r' && t[next] === '\n') next++;
        if (i === lineStart) {
          out.push(t.slice(start, next));
          start = next;
        }
        lineStart = next;
        i = next;
      }
      if (start < t.length) out.push(t.slice(start));
      return out;
    };
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (const alphabet of ['a\n', 'ad:\n ', 'a\n\r']) {
      for (let k = 0; k < 2000; k++) {
        let t = '';
        for (let i = rand(40); i > 0; i--) t += alphabet[rand(alphabet.length)];
        expect(splitFrames(Buffer.from(t)).map(String)).toEqual(reference(t));
      }
    }
  });

  test('helpers: boundaries, frames, data lines, JSON usage', () => {
    expect(endsAtBoundary(Buffer.from('x\n\n'))).toBe(true);
    expect(endsAtBoundary(Buffer.from('x\r\n\r\n'))).toBe(true);
    expect(endsAtBoundary(Buffer.from('x\n'))).toBe(false);
    expect(splitFrames(Buffer.from('a\n\nb\r\n\r\nc')).map(String)).toEqual(['a\n\n', 'b\r\n\r\n', 'c']);
    expect(splitFrames(Buffer.from('a\n\n\nb\nc\n\nd')).map(String)).toEqual(['a\n\n', '\n', 'b\nc\n\n', 'd']);
    expect(splitFrames(Buffer.from('\ndata: 1\n\n')).map(String)).toEqual(['\n', 'data: 1\n\n']);
    expect(frameData(Buffer.from('data: {"a":1}\n\n'))).toBe('{"a":1}');
    expect(frameData(Buffer.from('data:{"a":1}\r\n\r\n'))).toBe('{"a":1}');
    expect(frameData(Buffer.from('data: x\rdata: y\r\r'))).toBe('x\ny');
    expect(frameData(Buffer.from('data: 1\nid: 2\n\n'))).toBe('1');
    expect(frameData(Buffer.from('data: last'))).toBe('last');
    expect(frameData(Buffer.from('datum: 1\n\n'))).toBeUndefined();
    expect(frameData(Buffer.from('event: x\ndata: 1\ndata:2\n\n'))).toBe('1\n2');
    expect(frameData(Buffer.from(': comment\n\n'))).toBeUndefined();
    expect(usageFromJson('{"choices":[],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2}}')).toEqual({ promptTokens: 3, completionTokens: 2 });
    expect(usageFromJson('{"choices":[]}')).toBeUndefined();
  });
});

describe('circuit breaker', () => {
  const opts = { failures: 3, windowMs: 1000, cooldownMs: 500 };
  test('opens after N failures within the window', () => {
    const b = new CircuitBreaker(opts);
    b.failure(0);
    b.failure(10);
    expect(b.state(20)).toBe('closed');
    b.failure(20);
    expect(b.state(21)).toBe('open');
    expect(b.tryAcquire(21)).toBe(false);
  });
  test('failures outside the window do not add up', () => {
    const b = new CircuitBreaker(opts);
    b.failure(0);
    b.failure(10);
    b.failure(2000);
    expect(b.state(2001)).toBe('closed');
  });
  test('after the cooldown exactly one probe goes through; success closes', () => {
    const b = new CircuitBreaker(opts);
    [0, 1, 2].forEach((t) => b.failure(t));
    expect(b.state(600)).toBe('half-open');
    expect(b.tryAcquire(600)).toBe(true);
    expect(b.tryAcquire(601)).toBe(false);
    expect(b.available(601)).toBe(false);
    b.success();
    expect(b.state(602)).toBe('closed');
    expect(b.tryAcquire(602)).toBe(true);
  });
  test('a failed probe re-opens for another cooldown; a released probe frees the slot', () => {
    const b = new CircuitBreaker(opts);
    [0, 1, 2].forEach((t) => b.failure(t));
    expect(b.tryAcquire(600)).toBe(true);
    b.failure(600);
    expect(b.state(700)).toBe('open');
    expect(b.tryAcquire(1100)).toBe(true);
    b.release();
    expect(b.tryAcquire(1101)).toBe(true);
  });
});

describe('sessions', () => {
  test('a session routed to a larger tier stays there until the TTL passes', () => {
    const s = new SessionStore(1000, 10);
    s.record('a', 0, 0);
    expect(s.get('a', 1)).toBeUndefined();
    s.record('a', 1, 0);
    expect(s.get('a', 999)).toBe(1);
    expect(s.get('a', 2000)).toBeUndefined();
  });
  test('keeps the largest tier seen', () => {
    const s = new SessionStore(1000, 10);
    s.record('a', 2, 0);
    s.record('a', 1, 10);
    expect(s.get('a', 20)).toBe(2);
  });
  test('is bounded: the least recently used session goes first', () => {
    const s = new SessionStore(10_000, 2);
    s.record('a', 1, 0);
    s.record('b', 1, 0);
    expect(s.get('a', 1)).toBe(1);
    s.record('c', 1, 2);
    expect(s.size).toBe(2);
    expect(s.get('b', 3)).toBeUndefined();
    expect(s.get('a', 3)).toBe(1);
  });
});

describe('API keys', () => {
  const c = new ApiKeyChecker(['sk-one', 'sk-two']);
  test.each([
    ['Bearer sk-one', true],
    ['bearer sk-two', true],
    ['Bearer sk-three', false],
    ['sk-one', false],
    ['Basic c2stb25l', false],
    [undefined, false],
    ['', false],
  ])('%s -> %s', (h, ok) => {
    expect(c.check(h)).toBe(ok);
  });
  test('no keys: only with allowUnauthenticated', () => {
    expect(new ApiKeyChecker([], true).check(undefined)).toBe(true);
    expect(new ApiKeyChecker([], false).check('Bearer x')).toBe(false);
    expect(new ApiKeyChecker([], true).checkOn({}, undefined)).toBe(true);
  });
  test('per connection: the header a connection passed with passes again unhashed; any other header is checked in full', () => {
    const k = new ApiKeyChecker(['sk-one', 'sk-two']);
    const full = jest.spyOn(k, 'check');
    const a = {};
    const b = {};
    expect(k.checkOn(a, 'Bearer sk-one')).toBe(true);
    expect(k.checkOn(a, 'Bearer sk-one')).toBe(true);
    expect(full).toHaveBeenCalledTimes(1);
    // A different header on the same connection, and the same header on another connection.
    expect(k.checkOn(a, 'Bearer sk-three')).toBe(false);
    expect(k.checkOn(a, undefined)).toBe(false);
    expect(k.checkOn(a, 'Bearer sk-one ')).toBe(true);
    expect(k.checkOn(b, 'Bearer sk-three')).toBe(false);
    expect(k.checkOn(b, 'Bearer sk-three')).toBe(false);
    expect(full).toHaveBeenCalledTimes(6);
    // A rejected header is never remembered.
    expect(k.checkOn(a, 'Bearer sk-two')).toBe(true);
    expect(k.checkOn(a, 'Bearer sk-two')).toBe(true);
    expect(full).toHaveBeenCalledTimes(7);
  });
});

describe('request validation names the field', () => {
  test.each<[string, 'chat' | 'completions', unknown, string | null]>([
    ['not an object', 'chat', [1, 2], null],
    ['null body', 'chat', null, null],
    ['messages missing', 'chat', {}, 'messages'],
    ['messages not an array', 'chat', { messages: 'hi' }, 'messages'],
    ['messages empty', 'chat', { messages: [] }, 'messages'],
    ['message not an object', 'chat', { messages: ['hi'] }, 'messages[0]'],
    ['role missing', 'chat', { messages: [{ content: 'x' }] }, 'messages[0].role'],
    ['role not a string', 'chat', { messages: [{ role: 1, content: 'x' }] }, 'messages[0].role'],
    ['content a number', 'chat', { messages: [{ role: 'user', content: 'ok' }, { role: 'user', content: 5 }] }, 'messages[1].content'],
    ['content part without type', 'chat', { messages: [{ role: 'user', content: [{ text: 'x' }] }] }, 'messages[0].content[0]'],
    ['max_tokens a string', 'chat', { messages: [{ role: 'user', content: 'x' }], max_tokens: '5' }, 'max_tokens'],
    ['max_tokens negative', 'chat', { messages: [{ role: 'user', content: 'x' }], max_tokens: -1 }, 'max_tokens'],
    ['temperature a string', 'chat', { messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }, 'temperature'],
    ['stream a string', 'chat', { messages: [{ role: 'user', content: 'x' }], stream: 'yes' }, 'stream'],
    ['model a number', 'chat', { model: 3, messages: [{ role: 'user', content: 'x' }] }, 'model'],
    ['stream_options not an object', 'chat', { messages: [{ role: 'user', content: 'x' }], stream_options: true }, 'stream_options'],
    ['prompt missing', 'completions', {}, 'prompt'],
    ['prompt an object', 'completions', { prompt: { a: 1 } }, 'prompt'],
  ])('%s', (_n, endpoint, body, param) => {
    const e = validateBody(endpoint, body);
    expect(e).toBeDefined();
    expect(e!.status).toBe(400);
    expect(e!.type).toBe('invalid_request_error');
    expect(e!.param).toBe(param);
  });
  test.each<[string, 'chat' | 'completions', unknown]>([
    ['plain chat', 'chat', { model: 'auto', messages: [{ role: 'user', content: 'x' }] }],
    ['assistant with tool calls and no content', 'chat', { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [] }] }],
    ['text parts', 'chat', { messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }], stream: true, stream_options: { include_usage: true } }],
    ['string prompt', 'completions', { prompt: 'x', max_tokens: 5 }],
    ['token prompt', 'completions', { prompt: [1, 2, 3] }],
  ])('accepts %s', (_n, endpoint, body) => {
    expect(validateBody(endpoint, body)).toBeUndefined();
  });
});

describe('dispatch helpers', () => {
  test('failover goes to larger tiers first, then smaller ones', () => {
    expect(failoverOrder(0, 2)).toEqual([0, 1]);
    expect(failoverOrder(1, 2)).toEqual([1, 0]);
    expect(failoverOrder(1, 4)).toEqual([1, 2, 3, 0]);
  });
  test('Retry-After in seconds or as a date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
  test('include_usage is spliced before the closing brace without re-serializing', () => {
    const out = spliceIncludeUsage(Buffer.from('{"model":"m","messages":[],"stream":true}\n'));
    expect(JSON.parse(out!.toString())).toEqual({ model: 'm', messages: [], stream: true, stream_options: { include_usage: true } });
    expect(spliceIncludeUsage(Buffer.from('{}'))).toBeUndefined();
    expect(spliceIncludeUsage(Buffer.from('[1]'))).toBeUndefined();
  });
});

describe('log timestamps', () => {
  it('are pino time fields in ISO 8601, made anew when the millisecond changes', async () => {
    const a = isoTime();
    const m = /^,"time":"(.+)"$/.exec(a);
    expect(m).not.toBeNull();
    expect(new Date(m![1]).toISOString()).toBe(m![1]);
    expect(Math.abs(Date.parse(m![1]) - Date.now())).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 5));
    const b = isoTime();
    expect(b).not.toBe(a);
    expect(Date.parse(/"time":"(.+)"/.exec(b)![1])).toBeGreaterThan(Date.parse(m![1]));
  });
});
