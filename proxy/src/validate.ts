/** Shape checks of chat and completions request bodies, naming the offending field. */
import { invalidRequest, type ApiError } from './errors';

type Body = Record<string, unknown>;

/** The kind of generation request. */
export type Endpoint = 'chat' | 'completions';

/** Checks a parsed body; returns the first problem as a 400 naming the field, or undefined. */
export function validateBody(endpoint: Endpoint, body: unknown): ApiError | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return invalidRequest('The request body must be a JSON object.', null, 'invalid_body');
  }
  const b = body as Body;
  if (b.model !== undefined && b.model !== null && typeof b.model !== 'string') return typeError('model', 'a string');
  if (endpoint === 'chat') {
    const err = validateMessages(b.messages);
    if (err) return err;
  } else {
    const p = b.prompt;
    const ok =
      typeof p === 'string' ||
      (Array.isArray(p) &&
        p.length > 0 &&
        (p.every((x) => typeof x === 'string') ||
          p.every((x) => Number.isInteger(x)) ||
          p.every((x) => Array.isArray(x) && x.every((y) => Number.isInteger(y)))));
    if (!ok) {
      return p === undefined
        ? invalidRequest("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter')
        : typeError('prompt', 'a string, a list of strings or a list of token ids');
    }
  }
  for (const f of ['max_tokens', 'max_completion_tokens', 'n'] as const) {
    const v = b[f];
    if (v !== undefined && v !== null && !(Number.isInteger(v) && (v as number) >= 0)) return typeError(f, 'a non-negative integer');
  }
  for (const f of ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty'] as const) {
    const v = b[f];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v))) return typeError(f, 'a number');
  }
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') return typeError('stream', 'a boolean');
  const so = b.stream_options;
  if (so !== undefined && so !== null) {
    if (typeof so !== 'object' || Array.isArray(so)) return typeError('stream_options', 'an object');
    const iu = (so as Body).include_usage;
    if (iu !== undefined && iu !== null && typeof iu !== 'boolean') return typeError('stream_options.include_usage', 'a boolean');
  }
  return undefined;
}

function validateMessages(messages: unknown): ApiError | undefined {
  if (messages === undefined) return invalidRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(messages)) return typeError('messages', 'an array');
  if (messages.length === 0) return invalidRequest("Invalid 'messages': empty array. Expected an array with minimum length 1.", 'messages', 'empty_array');
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as unknown;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return typeError(`messages[${i}]`, 'an object');
    const { role, content } = m as Body;
    if (typeof role !== 'string' || role.length === 0) {
      return role === undefined
        ? invalidRequest(`Missing required parameter: 'messages[${i}].role'.`, `messages[${i}].role`, 'missing_required_parameter')
        : typeError(`messages[${i}].role`, 'a string');
    }
    if (typeof content === 'string') continue;
    if ((content === undefined || content === null) && role === 'assistant') continue;
    if (!Array.isArray(content)) return typeError(`messages[${i}].content`, 'a string or an array of content parts');
    for (let j = 0; j < content.length; j++) {
      const part = content[j] as unknown;
      if (part === null || typeof part !== 'object' || typeof (part as Body).type !== 'string') {
        return typeError(`messages[${i}].content[${j}]`, 'a content part object with a string type');
      }
    }
  }
  return undefined;
}

function typeError(param: string, expected: string): ApiError {
  return invalidRequest(`Invalid type for '${param}': expected ${expected}.`, param, 'invalid_type');
}
