/** Error responses in the OpenAI shape `{"error": {"message", "type", "param", "code"}}`. */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

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

/** A missing or wrong API key. */
export const UNAUTHORIZED: ApiError = { status: 401, message: 'Incorrect or missing API key. Send it as "Authorization: Bearer <key>".', type: 'authentication_error', param: null, code: 'invalid_api_key' };
/** A generation request whose body is not declared as JSON. */
export const UNSUPPORTED_MEDIA_TYPE: ApiError = { status: 415, message: 'Send the body as application/json.', type: 'invalid_request_error', param: null, code: 'unsupported_media_type' };

/** A method the path does not serve (sent with `Allow: <allow>`). */
export function methodNotAllowed(allow: string): ApiError {
  return { status: 405, message: `Use ${allow} on this path.`, type: 'invalid_request_error', param: null, code: 'method_not_allowed' };
}

/** A path the proxy does not serve. */
export function notFound(path: string): ApiError {
  return { status: 404, message: `Unknown path ${path}.`, type: 'invalid_request_error', param: null, code: 'not_found' };
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

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/** Answers parser-level errors (oversized headers, header timeouts) in the OpenAI error shape. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = errorBody({
    message: status === 431 ? 'The request headers are too large.' : status === 408 ? 'The request took too long to arrive.' : 'Malformed HTTP request.',
    type: 'invalid_request_error',
    param: null,
    code: status === 431 ? 'headers_too_large' : status === 408 ? 'request_timeout' : 'bad_request',
  });
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
