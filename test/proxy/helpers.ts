/** Shared test helpers for the routing proxy tests. */
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { ProxyConfigInput } from '../../proxy/src/config';

/** The minimal valid document from the proxy's README, with overrides merged one level deep. */
export function minimalConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: ProxyConfigInput = {
    port: 8080,
    apiKeys: ['sk-local-1'],
    tiers: [
      { name: 'small', baseUrl: 'http://127.0.0.1:9101', model: 'llama-3.1-8b' },
      { name: 'large', baseUrl: 'http://127.0.0.1:9102', model: 'llama-3.1-70b' },
    ],
    router: {
      embedding: { baseUrl: 'http://127.0.0.1:9103', model: 'nomic-embed-text-v1.5' },
      scorer: { baseUrl: 'http://127.0.0.1:9104', model: 'qwen2.5-1.5b-instruct' },
      threshold: 0.65,
    },
  };
  const out: Record<string, unknown> = JSON.parse(JSON.stringify(base));
  for (const [k, v] of Object.entries(overrides)) {
    const cur = out[k];
    out[k] = cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v) ? { ...cur, ...v } : v;
  }
  return out;
}

/**
 * Calls `onRequest` for each whole HTTP/1.1 request (head and `content-length` body) that a raw test
 * server's socket receives, in latin1, with its body.
 */
export function onRawRequests(s: Socket, onRequest: (raw: string, body: string) => void): void {
  let got = '';
  s.on('data', (d: Buffer) => {
    got += d.toString('latin1');
    const end = got.indexOf('\r\n\r\n');
    if (end < 0) return;
    const len = Number(/content-length: (\d+)/i.exec(got)![1]);
    if (got.length < end + 4 + len) return;
    const raw = got;
    got = '';
    onRequest(raw, raw.slice(end + 4, end + 4 + len));
  });
}

/** A pino logger at `level` whose output lands in `lines`, one entry per log line. */
export function memoryLogger(lines: string[], level: pino.LevelWithSilent = 'info'): Logger {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return pino({ level }, sink);
}
