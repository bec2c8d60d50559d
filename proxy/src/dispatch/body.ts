/**
 * The body sent to a tier: the client's bytes whenever they can go as they are, else the parsed
 * body re-serialized with the tier's model name and the usage option the proxy needs for metrics.
 */
import type { RoutedRequest } from './types';

const INCLUDE_USAGE = Buffer.from(',"stream_options":{"include_usage":true}');

/** The upstream body of `r` for a tier serving `model`. */
export function upstreamBody(r: RoutedRequest, model: string): Buffer {
  if (r.modelNamed && (!r.stream || r.clientWantsUsage)) return r.raw;
  if (r.modelNamed && r.body.stream_options === undefined) return spliceIncludeUsage(r.raw) ?? serialize(r, model);
  return serialize(r, model);
}

function serialize(r: RoutedRequest, model: string): Buffer {
  const body: Record<string, unknown> = { ...r.body, model };
  if (r.stream) {
    const so = r.body.stream_options;
    body.stream_options = { ...(so && typeof so === 'object' ? (so as object) : {}), include_usage: true };
  }
  return Buffer.from(JSON.stringify(body));
}

/** Inserts `"stream_options":{"include_usage":true}` before the body's closing brace, or undefined. */
export function spliceIncludeUsage(raw: Buffer): Buffer | undefined {
  let i = raw.length - 1;
  while (i >= 0 && (raw[i] === 0x20 || raw[i] === 0x0a || raw[i] === 0x0d || raw[i] === 0x09)) i--;
  if (i < 1 || raw[i] !== 0x7d) return undefined;
  let j = i - 1;
  while (j >= 0 && (raw[j] === 0x20 || raw[j] === 0x0a || raw[j] === 0x0d || raw[j] === 0x09)) j--;
  if (j < 0 || raw[j] === 0x7b) return undefined;
  return Buffer.concat([raw.subarray(0, i), INCLUDE_USAGE, raw.subarray(i)]);
}
