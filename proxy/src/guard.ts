/**
 * The request boundary: whatever the handling of one request throws, synchronously or as a rejected
 * promise, ends that request alone with a clean error (a 500 in the OpenAI shape before the first
 * byte; once an answer is under way its exchange ends it with an SSE error frame and no `[DONE]`)
 * and one JSON log line. The server goes on serving every other request.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { sendError, type ApiError } from './errors';

/** The answer to a request the proxy itself failed on. No detail of the failure reaches the client. */
export const INTERNAL_ERROR: ApiError = {
  status: 500,
  message: 'The proxy failed while handling this request; the failure is logged under its request id.',
  type: 'server_error',
  param: null,
  code: 'internal_error',
};

/** The request a failure belongs to. */
export interface RequestScope {
  readonly log: Logger;
  /** URL path of the request. */
  readonly path: string;
  readonly requestId?: string;
  /**
   * Offers the failure to the request's exchange, when it has one: true when the exchange ended the
   * request itself (and wrote its log line).
   */
  readonly handOff?: (err: unknown) => boolean;
  /** Called when the boundary answered the request (to count the 500). */
  readonly onAnswered?: () => void;
}

/** The fields of an error worth a log line (pino's `err` serializer adds the stack). */
function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(`non-error thrown: ${String(err)}`);
}

/** Ends a request after an error inside the proxy; never throws. */
export function failRequest(res: ServerResponse, err: unknown, scope: RequestScope): void {
  try {
    if (scope.handOff?.(err)) return;
  } catch {
    // The exchange failed to end itself; the response is ended below.
  }
  try {
    scope.log.error({ requestId: scope.requestId, path: scope.path, status: res.headersSent ? res.statusCode : INTERNAL_ERROR.status, err: asError(err) }, 'request failed inside the proxy');
  } catch {
    // Logging must not turn one failed request into a crash.
  }
  try {
    if (res.writableEnded || res.destroyed) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, INTERNAL_ERROR, scope.requestId ? ['x-request-id', scope.requestId] : [], true);
    scope.onAnswered?.();
  } catch {
    res.destroy();
  }
}

/**
 * The last line of defence for callbacks outside any request's promise chain (socket and timer
 * callbacks of a relay): an uncaught exception or unhandled rejection is logged as one JSON line and
 * the process keeps serving. A relay left without its callback ends at its idle deadline with an SSE
 * error frame. Returns a function that removes the handlers.
 */
export function installProcessGuard(log: Logger): () => void {
  const onException = (err: unknown, origin: string): void => {
    try {
      log.error({ err: asError(err), origin }, 'uncaught error inside the proxy; the server goes on');
    } catch {
      // Nothing left to report to.
    }
  };
  const onRejection = (reason: unknown): void => onException(reason, 'unhandledRejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
