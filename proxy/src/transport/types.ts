/**
 * What the dispatcher and the scoring clients need from an HTTP/1.1 client: one POST, its response
 * head, its body bytes read by read, and a way to give it up. Two implementations: the lightweight
 * client for `http://` upstreams (`rawhttp.ts`) and `node:http(s)` for `https://` ones (`node-http.ts`).
 */

/** Status line and headers of a response (header names lower-cased, repeats joined with `, `). */
export interface ResponseHead {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** The connection may carry another request once this body is complete. */
  readonly keepAlive: boolean;
}

/** What a request tells its owner. No handler is called once the owner destroyed it. */
export interface ResponseHandlers {
  /** Status line and headers (interim 1xx answers are skipped). */
  onHead(head: ResponseHead): void;
  /**
   * Body bytes of one read (undefined for none); `complete` when they end the body. `data` may live
   * in a shared read buffer: it is valid until this handler returns, so what is kept must be copied.
   */
  onBody(data: Buffer | undefined, complete: boolean): void;
  /** The connection failed or closed before the response was complete; `code` like `ECONNRESET`. */
  onFail(code: string, message: string): void;
  /**
   * `onHead` or `onBody` threw: the request is destroyed (its connection closed) and the error
   * handed here, so one exchange's bug ends that exchange alone. Without this handler the error
   * propagates.
   */
  onInternalError?(err: unknown): void;
}

/**
 * Why a request is given up:
 * - `fault` (a deadline, a bad answer): the connection is closed;
 * - `unwanted` (the server did nothing wrong, the answer is no longer needed): the connection is
 *   closed too, unless it carried nothing yet, and then it is kept;
 * - `client-left`: as `unwanted`, and a closed connection is replaced in the pool.
 */
export type GiveUpReason = 'fault' | 'unwanted' | 'client-left';

/** One request in flight. */
export interface UpstreamCall {
  /** The response body ended cleanly. */
  readonly complete: boolean;
  /** Stops reading (the client is slow); {@link resume} starts again. */
  pause(): void;
  resume(): void;
  /** Gives the request up; no handler is called afterwards. */
  destroy(why?: GiveUpReason): void;
}

/** Sends POST requests to one server root. */
export interface Transport {
  /** POSTs `payload` to `path` (below the server root); `headers` are name/value pairs without Host or Content-Length. */
  post(path: string, headers: readonly string[], payload: Buffer, h: ResponseHandlers): UpstreamCall;
  /** Closes idle connections; requests in flight end with their responses. */
  destroy(): void;
}
