import * as http from 'node:http';

/** Largest response body read; a one-token completion or one-word embedding is far smaller. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Status and parsed JSON body of a response (`undefined` when the body is not JSON). */
export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Sends one JSON POST; signature shared by the real client and test doubles. */
export type PostJson = (
  host: string,
  port: number,
  path: string,
  body: unknown,
  timeoutMs: number,
) => Promise<JsonResponse>;

/**
 * POSTs JSON over plain HTTP with one deadline for the whole exchange (connect, wait, read), on a
 * fresh connection so no socket outlives the invocation. Rejects with `timeout` when the deadline
 * passes and with the socket error code (`ECONNREFUSED`) when the connection fails.
 */
export const postJson: PostJson = (host, port, path, body, timeoutMs) =>
  new Promise<JsonResponse>((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const req = http.request({
      host,
      port,
      path,
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': payload.length },
    });
    const timer = setTimeout(() => {
      settle(() => reject(new Error('timeout')));
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      settle(() => reject(new Error(`connect: ${err.code ?? err.message}`)));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          settle(() => reject(new Error('response too large')));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', () => undefined);
      res.on('close', () => settle(() => reject(new Error('connection closed mid-response'))));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        settle(() => resolve({ status: res.statusCode ?? 0, body: parsed }));
      });
    });
    req.end(payload);
  });

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
