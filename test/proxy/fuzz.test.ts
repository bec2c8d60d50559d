/**
 * Fuzzing the running proxy (simulated tiers and router servers behind it) for a bounded time with
 * random and adversarial requests: JSON of every shape and depth, duplicate and prototype keys, huge
 * numbers, unicode escapes, invalid UTF-8 and other encodings, garbage bytes, truncated bodies,
 * oversized bodies, wrong content types and every HTTP body framing (length, chunked, a length that
 * disagrees with the body, both at once). Every answer must be well-formed, nothing may fail inside
 * the proxy, and afterwards it still serves.
 */
import * as net from 'node:net';
import fc from 'fast-check';
import { KEY, chat, post, send, sseData, startStack, type Stack } from './harness';
import { memoryLogger } from './helpers';

const FUZZ_MS = 15_000;
const MAX_BODY_BYTES = 64 * 1024;
jest.setTimeout(FUZZ_MS + 30_000);

let stack: Stack;
let logLines: string[];
beforeAll(async () => {
  logLines = [];
  // A body cap of 64 KiB keeps oversized bodies cheap to send; the depth cap stays at its default.
  stack = await startStack({ deps: { logger: memoryLogger(logLines, 'warn') }, config: { limits: { maxBodyBytes: MAX_BODY_BYTES } } });
});
afterAll(async () => {
  await stack?.close();
});

// ---- JSON text with the shapes JSON.stringify cannot make --------------------------------------

/** A literal JSON fragment written as is (huge numbers, escapes). */
class Lit {
  constructor(readonly text: string) {}
}
/** An object written with its entries in order, duplicates kept. */
class Entries {
  constructor(readonly entries: ReadonlyArray<readonly [string, unknown]>) {}
}

function toJson(v: unknown): string {
  if (v instanceof Lit) return v.text;
  if (v instanceof Entries) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v !== null && typeof v === 'object') return toJson(new Entries(Object.entries(v)));
  return JSON.stringify(v) ?? 'null';
}

const hugeNumber = fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '1E+308', '-0', '0.0000000000000000000000001', '9007199254740993', '1.5', '-1').map((t) => new Lit(t));
const escapes = fc.constantFrom('"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"\\u2028\\u2029"', '"\\ufeff"', '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"\\uD83D\\uDE00"', '"[[[{{{"').map((t) => new Lit(t));
const text = fc.oneof(
  fc.constantFrom('hi', 'What are your opening hours?', 'Prove that the square root of 2 is irrational.', '```js\nconst x = f();\n```', ''),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  escapes,
);
const anyJson: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue({ maxDepth: 3 }), hugeNumber, escapes, fc.constant(null));
const numberish = fc.oneof(fc.integer({ min: -5, max: 64 }), fc.double(), hugeNumber, anyJson);
const part = fc.oneof(fc.record({ type: fc.constantFrom('text', 'image_url', 'input_text'), text }, { requiredKeys: ['type'] }), anyJson);
const message = fc.record(
  {
    role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'developer', 'tool'), fc.string({ maxLength: 8 }), anyJson),
    content: fc.oneof(text, fc.array(part, { maxLength: 3 }), fc.constant(null), anyJson),
  },
  { requiredKeys: [] },
);
const model = fc.oneof(fc.constantFrom('auto', 'llama-3.1-8b', 'llama-3.1-70b', ''), fc.string({ maxLength: 12 }), anyJson);
const common = {
  model,
  stream: fc.oneof(fc.boolean(), anyJson),
  stream_options: fc.oneof(fc.record({ include_usage: fc.oneof(fc.boolean(), anyJson) }), anyJson),
  max_tokens: numberish,
  temperature: numberish,
  top_p: numberish,
  n: numberish,
};
const chatBody = fc.record({ ...common, messages: fc.oneof({ weight: 5, arbitrary: fc.array(message, { minLength: 1, maxLength: 4 }) }, { weight: 1, arbitrary: anyJson }) }, { requiredKeys: ['messages'] });
/** A valid request with adversarial content and extra fields, so that many reach scoring, dispatch and relay. */
const validChat = fc
  .record({
    model: fc.constantFrom('auto', 'auto', 'llama-3.1-8b', 'llama-3.1-70b'),
    messages: fc.array(fc.record({ role: fc.constantFrom('user', 'system', 'assistant'), content: fc.oneof(text, fc.array(fc.record({ type: fc.constant('text'), text }), { minLength: 1, maxLength: 2 })) }), { minLength: 1, maxLength: 3 }),
    stream: fc.boolean(),
    max_tokens: fc.integer({ min: 0, max: 64 }),
    extra: fc.dictionary(fc.oneof(oddKeyName(), fc.string({ maxLength: 10 })), anyJson, { maxKeys: 3 }),
  })
  .map(({ extra, ...body }) => new Entries([...Object.entries(body), ...Object.entries(extra)]));
const completionBody = fc.record({ ...common, prompt: fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.array(fc.integer(), { maxLength: 4 }), anyJson) }, { requiredKeys: [] });
function oddKeyName() {
  return fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'tools', 'response_format', 'stream_options', 'user', 'seed');
}
const oddKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'messages', 'model', 'stream', 'stream_options', 'max_tokens', 'prompt');
/** Objects with duplicate and prototype-named keys, e.g. two `messages` or a `__proto__` carrying `stream`. */
const oddObject = fc
  .tuple(fc.array(fc.tuple(oddKey, fc.oneof(anyJson, fc.array(message, { minLength: 1, maxLength: 2 }), fc.record({ stream: fc.boolean(), model })))), chatBody)
  .map(([extra, base]) => new Entries([...Object.entries(base), ...extra]));
/** `depth` levels of arrays or objects, under `x` or in place of a message's content. */
const deep = fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean(), fc.boolean(), model).map(([depth, arrays, inContent, m]) => {
  const open = arrays ? '['.repeat(depth) : '{"a":'.repeat(depth);
  const close = arrays ? ']'.repeat(depth) : '}'.repeat(depth);
  const nest = `${open}${arrays ? '' : '1'}${close}`;
  return inContent
    ? `{"model":${toJson(m)},"messages":[{"role":"user","content":${nest}}]}`
    : `{"model":${toJson(m)},"messages":[{"role":"user","content":"hi"}],"x":${nest}}`;
});
const jsonText = fc.oneof(
  { weight: 8, arbitrary: validChat.map(toJson) },
  { weight: 4, arbitrary: chatBody.map(toJson) },
  { weight: 2, arbitrary: completionBody.map(toJson) },
  { weight: 2, arbitrary: oddObject.map(toJson) },
  { weight: 2, arbitrary: deep },
  { weight: 1, arbitrary: anyJson.map(toJson) },
  { weight: 1, arbitrary: fc.constantFrom('null', '[]', '{}', '""', '0', 'true', '{"messages":null}', '{"messages":[null]}', '{"messages":[{"role":null,"content":null}]}', '{"messages":[{"role":"user"}]}', ' \n\t{"messages":[{"role":"user","content":"hi"}]} \n') },
);
/** The body as bytes: UTF-8 mostly; also with a BOM, in UTF-16 or Latin-1, with invalid bytes, cut short, or garbage. */
const bodyBytes = fc.oneof(
  { weight: 10, arbitrary: jsonText.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: jsonText.map((s) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(s, 'utf8')])) },
  { weight: 1, arbitrary: jsonText.map((s) => Buffer.from(`\ufeff${s}`, 'utf16le')) },
  { weight: 1, arbitrary: jsonText.map((s) => Buffer.from(s, 'latin1')) },
  {
    weight: 1,
    arbitrary: fc.tuple(jsonText, fc.nat(), fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf], [0x00])).map(([s, at, bad]) => {
      const b = Buffer.from(s, 'utf8');
      const i = at % (b.length + 1);
      return Buffer.concat([b.subarray(0, i), Buffer.from(bad), b.subarray(i)]);
    }),
  },
  { weight: 1, arbitrary: fc.tuple(jsonText, fc.nat()).map(([s, n]) => Buffer.from(s.slice(0, n % (s.length + 1)), 'utf8')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_BODY_BYTES - 4096, max: MAX_BODY_BYTES + 16 * 1024 }).map((n) => Buffer.from(toJson({ model: 'auto', messages: [{ role: 'user', content: 'x'.repeat(n) }] }))) },
);

type Framing = 'length' | 'chunked' | 'short-length' | 'long-length' | 'length-and-chunked';
interface FuzzRequest {
  readonly path: string;
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly contentLength: 'exact' | 'absent-if-chunked';
  readonly framing: Framing;
  readonly chunkSizes: readonly number[];
  readonly auth: boolean;
}
const request: fc.Arbitrary<FuzzRequest> = fc
  .record({
  path: fc.constantFrom('/v1/chat/completions', '/v1/chat/completions', '/v1/chat/completions', '/v1/completions'),
  body: bodyBytes,
  contentType: fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=utf-16', 'text/plain', 'application/jsonx', 'multipart/form-data; boundary=x', '') },
    { weight: 1, arbitrary: fc.constant(undefined) },
  ),
  contentLength: fc.constant('exact' as const),
  framing: fc.oneof(
    { weight: 6, arbitrary: fc.constant('length' as const) },
    { weight: 3, arbitrary: fc.constant('chunked' as const) },
    { weight: 1, arbitrary: fc.constantFrom('short-length' as const, 'long-length' as const, 'length-and-chunked' as const) },
  ),
  chunkSizes: fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 6 }),
  auth: fc.oneof({ weight: 19, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  })
  // A counterexample prints as a summary and the body's first bytes, not as a megabyte of numbers.
  .map((r) => Object.assign(r, { [fc.toStringMethod]: () => describe(r) }));

function describe(r: FuzzRequest): string {
  const head = r.body.subarray(0, 300).toString('latin1');
  return `${r.framing} ${r.path} auth=${r.auth} content-type=${JSON.stringify(r.contentType)} ${r.body.length} bytes: ${JSON.stringify(head)}${r.body.length > 300 ? '...' : ''}`;
}

/** The proxy refuses these before or while reading the body and closes the connection (faults 3-6). */
function refusedEarly(r: FuzzRequest): boolean {
  return !r.auth || !/^application\/json\s*(;|$)/i.test(r.contentType ?? '') || r.body.length > MAX_BODY_BYTES;
}

// ---- sending raw HTTP and reading the answer -----------------------------------------------------

function chunked(body: Buffer, sizes: readonly number[]): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (let k = 0; at < body.length; k++) {
    const n = Math.min(sizes[k % sizes.length], body.length - at);
    out.push(Buffer.from(`${n.toString(16)}\r\n`), body.subarray(at, at + n), Buffer.from('\r\n'));
    at += n;
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}

function requestBytes(r: FuzzRequest, port: number): Buffer {
  const head = [`POST ${r.path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close'];
  if (r.auth) head.push(`Authorization: Bearer ${KEY}`);
  if (r.contentType !== undefined) head.push(`Content-Type: ${r.contentType}`);
  let payload = r.body;
  switch (r.framing) {
    case 'length':
      head.push(`Content-Length: ${r.body.length}`);
      break;
    case 'chunked':
      head.push('Transfer-Encoding: chunked');
      payload = chunked(r.body, r.chunkSizes);
      break;
    case 'short-length':
      head.push(`Content-Length: ${Math.floor(r.body.length / 2)}`);
      break;
    case 'long-length':
      head.push(`Content-Length: ${r.body.length + 10}`);
      break;
    case 'length-and-chunked':
      head.push(`Content-Length: ${r.body.length}`, 'Transfer-Encoding: chunked');
      payload = chunked(r.body, r.chunkSizes);
      break;
  }
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

/** What came back on one connection. */
interface Received {
  readonly bytes: Buffer;
  /** The server neither answered nor closed within 10 s. */
  readonly timedOut: boolean;
}

/** Writes the request (the body in two pieces) and returns every byte the server sent until it closed. */
function exchange(r: FuzzRequest, port: number): Promise<Received> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1');
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      s.destroy();
    }, 10_000);
    s.on('data', (d: Buffer) => got.push(d));
    // A server that answers early (401, 413, 415) may reset the rest of the upload.
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ bytes: Buffer.concat(got), timedOut });
    });
    s.on('connect', () => {
      const bytes = requestBytes(r, port);
      const cut = Math.min(bytes.length, r.chunkSizes[0] * 7);
      s.write(bytes.subarray(0, cut));
      setImmediate(() => {
        if (s.destroyed) return;
        // The server closes after its answer (`Connection: close`). A client that half-closes is
        // taken to have left (as nginx does), so only the client that gives up on its body does.
        if (r.framing === 'long-length') s.end(bytes.subarray(cut));
        else s.write(bytes.subarray(cut));
      });
    });
  });
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The first response in the bytes, or undefined when there is none. */
function parseAnswer(raw: Buffer): Answer | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP status line: ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = body.indexOf('\r\n', at);
      if (eol < 0) break;
      const n = parseInt(body.subarray(at, eol).toString('latin1'), 16);
      if (!(n > 0)) break;
      out.push(body.subarray(eol + 2, eol + 2 + n));
      at = eol + 2 + n + 2;
    }
    body = Buffer.concat(out);
  } else if (headers['content-length'] !== undefined) {
    body = body.subarray(0, Number(headers['content-length']));
  }
  return { status: Number(m[1]), headers, body: body.toString('utf8') };
}

/** `{"error": {"message", "type", "param", "code"}}` with strings (param and code may be null). */
function openAiErrorShape(v: unknown): boolean {
  const e = (v as { error?: Record<string, unknown> } | null)?.error;
  if (!e || typeof e !== 'object' || Object.keys(v as object).length !== 1) return false;
  const strOrNull = (x: unknown) => x === null || typeof x === 'string';
  return Object.keys(e).sort().join() === 'code,message,param,type' && typeof e.message === 'string' && typeof e.type === 'string' && strOrNull(e.param) && strOrNull(e.code);
}

/** Asserts one answer is well-formed for what was sent. */
function check(r: FuzzRequest, got: Received): void {
  expect(got.timedOut).toBe(false);
  const a = parseAnswer(got.bytes);
  if (a === undefined) {
    // Unanswered only when the client gave up on its own body, or when the proxy closed the
    // connection on a body it refused while the client was still sending it (a reset may then
    // overtake the answer).
    expect(r.framing === 'long-length' || refusedEarly(r)).toBe(true);
    return;
  }
  if (a.status === 200) {
    if (a.headers['content-type']?.startsWith('text/event-stream')) {
      const frames = sseData(a.body);
      expect(frames[frames.length - 1]).toBe('[DONE]');
      for (const f of frames.slice(0, -1)) expect(() => JSON.parse(f)).not.toThrow();
    } else {
      expect(a.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(a.body)).toMatchObject({ choices: expect.any(Array) });
    }
    return;
  }
  // Nothing failed inside the proxy, and no well-formed request was refused by every tier.
  expect([400, 401, 404, 408, 413, 415, 422]).toContain(a.status);
  expect(a.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(a.body) as unknown;
  // A tier's own 4xx passes through unchanged (its shape is the tier's); the proxy's are OpenAI's.
  if (a.headers['x-route-tier'] === undefined) expect(openAiErrorShape(body)).toBe(true);
}

test('random and adversarial requests get well-formed answers, and the proxy keeps serving', async () => {
  let sent = 0;
  const port = stack.proxy.port;
  await fc.assert(
    fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 8 }), async (batch) => {
      const answers = await Promise.all(batch.map((r) => exchange(r, port)));
      sent += batch.length;
      batch.forEach((r, i) => check(r, answers[i]));
    }),
    { interruptAfterTimeLimit: FUZZ_MS, numRuns: 1_000_000, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
  );
  // The run was long enough to mean something.
  expect(sent).toBeGreaterThan(300);
  // Nothing failed inside the proxy (those log at error level) and nothing was left uncaught.
  const failures = logLines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50);
  expect(failures).toEqual([]);
  // Still serving: health, readiness and a normal routed request.
  expect((await send(stack.proxy.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
  expect((await send(stack.proxy.url, { method: 'GET', path: '/readyz' })).status).toBe(200);
  const ok = await post(stack.proxy.url, '/v1/chat/completions', chat('What are your opening hours on weekends?'));
  expect(ok.status).toBe(200);
  expect(ok.headers['x-route-tier']).toBe('small');
});
