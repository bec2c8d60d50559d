/** Error responses in the OpenAI shape `{"error": {"message", "type", "param", "code"}}`. */
import type { ServerResponse } from 'node:http';

/** One error the proxy returns. */
export interface ApiError {
  readonly status: number;
  readonly message: string;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
}

/** The JSON text of an error body. */
export function errorBody(e: Omit<ApiError, 'status'>): string {
  return JSON.stringify({ error: { message: e.message, type: e.type, param: e.param, code: e.code } });
}

/** A 400 `invalid_request_error` naming the offending field. */
export function invalidRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
  return { status: 400, message, type: 'invalid_request_error', param, code };
}

/** Sends an error response; `close` asks the client to drop the connection (body left unread). */
export function sendError(res: ServerResponse, e: ApiError, extraHeaders: readonly string[] = [], close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(e);
  const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), ...extraHeaders];
  if (close) headers.push('connection', 'close');
  res.writeHead(e.status, headers);
  res.end(body);
}

/** An SSE frame carrying an error, ending a stream that broke after its first byte. */
export function sseErrorFrame(message: string, code: string): Buffer {
  return Buffer.from(`data: ${errorBody({ message, type: 'server_error', param: null, code })}\n\n`);
}
