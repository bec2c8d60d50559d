/** Small raw-HTTP client helpers for the simulator tests (node:http, so resets and partial bodies stay visible). */
import * as http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Body pieces in the order the socket delivered them. */
  pieces: string[];
  text: string;
}

const agent = new http.Agent({ keepAlive: false });

/** Sends a request and resolves with the whole response, or rejects with the socket error. */
export function request(
  base: string,
  path: string,
  opts: { method?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const payload = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const req = http.request(
      `${base}${path}`,
      {
        method: opts.method ?? (payload === undefined ? 'GET' : 'POST'),
        agent,
        headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers },
      },
      (res) => {
        const pieces: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (c: string) => pieces.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, pieces, text: pieces.join('') }));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A streaming request the test controls: collects pieces as they arrive and can be aborted. */
export interface OpenStream {
  readonly pieces: string[];
  status(): number | undefined;
  /** Resolves when the response ends (true) or the connection fails (false). */
  readonly done: Promise<boolean>;
  /** Resolves once the response headers arrived. */
  readonly headers: Promise<http.IncomingHttpHeaders>;
  /** Resolves once the collected text satisfies the predicate. */
  until(pred: (text: string) => boolean): Promise<string>;
  abort(): void;
}

export function openStream(base: string, path: string, body: unknown, headers: Record<string, string> = {}): OpenStream {
  const pieces: string[] = [];
  let status: number | undefined;
  const waiters: Array<{ pred: (t: string) => boolean; resolve: (t: string) => void }> = [];
  const check = (): void => {
    const text = pieces.join('');
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].pred(text)) {
        waiters[i].resolve(text);
        waiters.splice(i, 1);
      }
    }
  };
  let resolveHeaders!: (h: http.IncomingHttpHeaders) => void;
  const headersP = new Promise<http.IncomingHttpHeaders>((r) => (resolveHeaders = r));
  const req = http.request(`${base}${path}`, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', ...headers },
  });
  const done = new Promise<boolean>((resolve) => {
    req.on('response', (res) => {
      status = res.statusCode;
      resolveHeaders(res.headers);
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        pieces.push(c);
        check();
      });
      res.on('end', () => resolve(true));
      res.on('aborted', () => resolve(false));
      res.on('error', () => resolve(false));
    });
    req.on('error', () => resolve(false));
  });
  req.end(JSON.stringify(body));
  return {
    pieces,
    status: () => status,
    done,
    headers: headersP,
    until: (pred) =>
      new Promise((resolve) => {
        waiters.push({ pred, resolve });
        check();
      }),
    abort: () => req.destroy(),
  };
}

/** The `data:` payloads of an SSE text (LF or CRLF line ends), comments dropped. */
export function sseData(text: string): string[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((frame) => frame.split(/\r?\n/).filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'))
    .filter((d) => d !== '');
}

/** Parsed JSON frames of an SSE text, skipping [DONE] and frames that are not JSON. */
export function sseJson(text: string): Array<Record<string, any>> {
  const out: Array<Record<string, any>> = [];
  for (const d of sseData(text)) {
    if (d === '[DONE]') continue;
    try {
      out.push(JSON.parse(d));
    } catch {
      // not JSON: skipped
    }
  }
  return out;
}

/** Polls until the predicate holds (at most `timeoutMs`), then returns its last value. */
export async function eventually<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits without asserting anything about time; used to give a stalled stream a chance to misbehave. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Value of a Prometheus sample line `name{labels} value`. */
export function metricValue(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
