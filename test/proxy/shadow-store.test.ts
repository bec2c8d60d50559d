/** The answer capture and the batching pair store, without a server. */
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import { ShadowMetrics } from '../../proxy/src/metrics/registry';
import { AnswerCapture } from '../../proxy/src/shadow/capture';
import { PairStore, type PairWriter } from '../../proxy/src/shadow/store';

const quiet = pino({ level: 'silent' });

const frame = (content: string, finish: string | null = null) =>
  `data: {"id":"x","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":${JSON.stringify(finish)}}]}\n\n`;

describe('answer capture', () => {
  test('reads an event stream split anywhere, multi-byte characters and CRLF included', () => {
    const text = frame('Grüß ') + frame('Gott 👋', null).replace(/\n\n$/, '\r\n\r\n') + frame('', 'stop') + 'data: {"id":"x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}\n\ndata: [DONE]\n\n';
    const bytes = Buffer.from(text);
    for (const step of [1, 3, 7, bytes.length]) {
      const c = new AnswerCapture('chat', 100, 1000);
      c.begin(true);
      for (let i = 0; i < bytes.length; i += step) c.push(bytes.subarray(i, i + step));
      expect(c.result()).toEqual({ model: 'm', text: 'Grüß Gott 👋', truncated: false, finish_reason: 'stop', usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
    }
  });

  test('cuts the text at the bound and marks it', () => {
    const c = new AnswerCapture('chat', 5, 1000);
    c.begin(true);
    c.push(Buffer.from(frame('abc') + frame('defg', 'length')));
    expect(c.result()).toMatchObject({ text: 'abcde', truncated: true, finish_reason: 'length' });
  });

  test('reads completions text and a JSON answer; a JSON answer beyond the byte bound is not captured', () => {
    const c = new AnswerCapture('completions', 100, 1000);
    c.begin(false);
    c.push(Buffer.from('{"model":"m","choices":[{"index":0,"text":"hi","finish_reason":"stop"}],'));
    c.push(Buffer.from('"usage":{"prompt_tokens":1,"completion_tokens":1}}'));
    expect(c.result()).toEqual({ model: 'm', text: 'hi', truncated: false, finish_reason: 'stop', usage: { prompt_tokens: 1, completion_tokens: 1 } });
    const big = new AnswerCapture('chat', 100, 50);
    big.begin(false);
    big.push(Buffer.alloc(60, 0x20));
    expect(big.result()).toBeUndefined();
  });
});

describe('pair store', () => {
  const metrics = () => new ShadowMetrics(['small', 'large'], { mode: false, sampling: true });
  const writer = (fail = false) => {
    const puts: Array<{ key: string; lines: unknown[] }> = [];
    const w: PairWriter = {
      where: 'memory',
      async put(key, body) {
        if (fail) throw new Error('AccessDenied');
        puts.push({ key, lines: gunzipSync(body).toString().trim().split('\n').map((l) => JSON.parse(l)) });
      },
    };
    return { w, puts };
  };
  const opts = { prefix: 'p/', batchMaxPairs: 2, flushIntervalMs: 60_000, maxBufferedPairs: 3 };

  test('writes a full batch at once and the rest on flush, as gzip JSON lines under a dated key', async () => {
    const { w, puts } = writer();
    const m = metrics();
    const store = new PairStore(w, opts, m, quiet, () => Date.parse('2026-03-04T05:06:07Z'));
    store.add({ id: 1 });
    expect(puts).toHaveLength(0);
    store.add({ id: 2 });
    await store.flush();
    expect(puts).toEqual([{ key: expect.stringMatching(/^p\/dt=2026-03-04\/050607-[0-9a-f]{8}-000001\.jsonl\.gz$/), lines: [{ id: 1 }, { id: 2 }] }]);
    store.add({ id: 3 });
    await store.close();
    expect(puts[1].lines).toEqual([{ id: 3 }]);
    expect(m.stored!.total).toBe(3);
  });

  test('a full buffer drops and counts the new pair; a failed write counts its pairs', async () => {
    const { w } = writer(true);
    const m = metrics();
    const store = new PairStore(w, { ...opts, batchMaxPairs: 10 }, m, quiet);
    for (let i = 0; i < 5; i++) store.add({ id: i });
    expect(m.dropped!.BufferFull.total).toBe(2);
    await store.close();
    expect(m.storeErrors!.total).toBe(1);
    expect(m.dropped!.StoreFailed.total).toBe(3);
    store.add({ id: 9 });
    expect(m.dropped!.Shutdown.total).toBe(1);
  });
});
