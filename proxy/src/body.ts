/**
 * Reading and parsing a request body within the configured limits: its size (413, as soon as the
 * cap is crossed), its encoding (UTF-8, an optional byte-order mark is dropped), its JSON nesting
 * depth (checked by a byte scan before parsing) and its syntax. A body that passes is a JSON tree no
 * deeper than `limits.maxJsonDepth`, so nothing downstream (re-serialization for a tier, logging)
 * can recurse out of stack on it.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { invalidRequest, type ApiError } from './errors';

/** The body limits of the proxy config (`limits`). */
export interface BodyLimits {
  /** Largest body, bytes. */
  readonly maxBodyBytes: number;
  /** Deepest nesting of JSON objects and arrays. */
  readonly maxJsonDepth: number;
}

/** A 413 for a body above `limit` bytes. */
export function tooLarge(limit: number): ApiError {
  return { status: 413, message: `The request body is larger than ${limit} bytes (limits.maxBodyBytes).`, type: 'invalid_request_error', param: null, code: 'request_too_large' };
}

/** A 400 for a body nested deeper than `limit` levels. */
export function tooDeep(limit: number): ApiError {
  return invalidRequest(`The request body nests JSON objects and arrays deeper than ${limit} levels (limits.maxJsonDepth).`, null, 'json_too_deep');
}

/** What {@link readBody} reports. */
export interface BodySink {
  /** The whole body arrived within the size limit. */
  onBody(raw: Buffer): void;
  /** The body crossed the size limit; reading stopped. */
  onTooLarge(): void;
}

/**
 * Collects a request body; stops (and pauses the request) as soon as it crosses `maxBytes`, so
 * memory stays bounded whatever the client sends. Request stream errors (a client that leaves) are
 * swallowed here: the response's `close` tells the caller.
 */
export function readBody(req: IncomingMessage, maxBytes: number, sink: BodySink): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (c: Buffer) => {
    if (over) return;
    size += c.length;
    if (size > maxBytes) {
      over = true;
      chunks.length = 0;
      req.pause();
      sink.onTooLarge();
      return;
    }
    chunks.push(c);
  });
  req.on('error', () => undefined);
  req.on('end', () => {
    if (over) return;
    sink.onBody(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
  });
}

/** Bytes of a string searched in JavaScript before a native search takes over (per-call cost vs per-byte speed). */
const SHORT_SCAN = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** The next `"` at or after `from`, or -1: short strings in a loop, long ones by a native search. */
function nextQuote(buf: Buffer, from: number): number {
  const end = Math.min(buf.length, from + SHORT_SCAN);
  for (let k = from; k < end; k++) if (buf[k] === QUOTE) return k;
  return end < buf.length ? buf.indexOf(QUOTE, end) : -1;
}

/**
 * True when the JSON text nests objects and arrays deeper than `limit`. A byte scan: brackets inside
 * strings do not count (strings are skipped by searching for their closing quote), and the scan
 * stops at the first level past the limit. Malformed text is left to the parser.
 */
export function jsonDepthExceeds(buf: Buffer, limit: number): boolean {
  const n = buf.length;
  let depth = 0;
  let i = 0;
  while (i < n) {
    const c = buf[i];
    if (c === QUOTE) {
      // Jump to the closing quote: the first one preceded by an even run of backslashes.
      let from = i + 1;
      for (;;) {
        const q = nextQuote(buf, from);
        if (q < 0) return false;
        let k = q - 1;
        while (k >= from && buf[k] === BACKSLASH) k--;
        from = q + 1;
        if ((q - 1 - k) % 2 === 0) break;
      }
      i = from;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
    i++;
  }
  return false;
}

/** A parsed body, or the 400 that rejects it. */
export type ParsedBody =
  | { readonly ok: true; readonly body: unknown; /** The bytes without a byte-order mark. */ readonly raw: Buffer }
  | { readonly ok: false; readonly error: ApiError };

/**
 * Checks and parses a JSON body: UTF-8 only (a leading byte-order mark is dropped, also from the
 * bytes sent on), no deeper than `maxJsonDepth`, valid JSON.
 */
export function parseJsonBody(raw: Buffer, limits: Pick<BodyLimits, 'maxJsonDepth'>): ParsedBody {
  const bytes = raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? raw.subarray(3) : raw;
  if (!isUtf8(bytes)) return { ok: false, error: invalidRequest('The request body is not valid UTF-8.', null, 'invalid_encoding') };
  if (jsonDepthExceeds(bytes, limits.maxJsonDepth)) return { ok: false, error: tooDeep(limits.maxJsonDepth) };
  try {
    return { ok: true, body: JSON.parse(bytes.toString('utf8')) as unknown, raw: bytes };
  } catch {
    return { ok: false, error: invalidRequest('The body is not valid JSON.', null, 'invalid_json') };
  }
}
