/**
 * Reads the answer a client gets, as the relay passes it on, for a shadow comparison: the text, the
 * finish reason, the token usage and the model, from an SSE stream (frame by frame, as it passes) or
 * a JSON answer (kept up to a byte bound and parsed once it is complete). Memory stays bounded: at
 * most `maxChars` characters of text, one partial SSE line, or `maxJsonBytes` of a JSON answer; an
 * answer beyond those bounds is cut (text) or not captured (JSON, an endless line).
 *
 * The capture only reads: the bytes the client gets are the relay's business alone.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Endpoint } from '../validate';

/** Token usage as the OpenAI API reports it. */
export interface AnswerUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens?: number;
}

/** One tier's answer in a comparison pair. */
export interface CapturedAnswer {
  /** Model name the tier reported. */
  readonly model: string | undefined;
  /** Text of the first choice (chat: the message content; completions: the text). */
  readonly text: string;
  /** The text was cut at the capture bound. */
  readonly truncated: boolean;
  /** `finish_reason` of the first choice (`stop`, `length`, ...), null when the answer gave none. */
  readonly finish_reason: string | null;
  readonly usage: AnswerUsage | undefined;
}

/** An SSE line longer than this is not a frame worth reading: the capture gives up. */
const MAX_LINE_CHARS = 1 << 20;

/** Reads one answer as it passes. */
export class AnswerCapture {
  private sse: boolean | undefined;
  private decoder: StringDecoder | undefined;
  private line = '';
  private text = '';
  private truncated = false;
  private finishReason: string | null = null;
  private usage: AnswerUsage | undefined;
  private model: string | undefined;
  private parts: Buffer[] | undefined;
  private bytes = 0;
  /** The answer cannot be captured (too large, unreadable); nothing more is read. */
  private failed = false;

  constructor(
    private readonly endpoint: Endpoint,
    /** Characters of text kept at most. */
    private readonly maxChars: number,
    /** Bytes of a JSON answer kept at most. */
    private readonly maxJsonBytes: number,
  ) {}

  /** The answer's head went out: `sse` tells an event stream from a JSON answer. */
  begin(sse: boolean): void {
    this.sse = sse;
    if (sse) this.decoder = new StringDecoder('utf8');
    else this.parts = [];
  }

  /** Bytes of one upstream read (valid only during this call: whatever is kept is copied or decoded). */
  push(chunk: Buffer): void {
    if (this.failed || this.sse === undefined) return;
    if (!this.sse) {
      this.bytes += chunk.length;
      if (this.bytes > this.maxJsonBytes) {
        this.fail();
        return;
      }
      this.parts!.push(Buffer.from(chunk));
      return;
    }
    const text = this.line + this.decoder!.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.frameLine(text.slice(start, nl));
      start = nl + 1;
    }
    this.line = start === 0 ? text : text.slice(start);
    if (this.line.length > MAX_LINE_CHARS) this.fail();
  }

  /** The captured answer, once the answer is complete; undefined when it could not be captured. */
  result(): CapturedAnswer | undefined {
    if (this.failed || this.sse === undefined) return undefined;
    if (this.sse) {
      if (this.line !== '') this.frameLine(this.line);
      this.line = '';
      return { model: this.model, text: this.text, truncated: this.truncated, finish_reason: this.finishReason, usage: this.usage };
    }
    const parsed = parseJsonAnswer(Buffer.concat(this.parts!).toString('utf8'), this.endpoint, this.maxChars);
    this.parts = undefined;
    return parsed;
  }

  private fail(): void {
    this.failed = true;
    this.parts = undefined;
    this.line = '';
  }

  /** One line of the event stream: `data: {...}` frames add their text, finish reason, usage. */
  private frameLine(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line.startsWith('data:')) return;
    const data = line.slice(5).trim();
    if (data === '' || data === '[DONE]') return;
    let o: StreamChunk;
    try {
      o = JSON.parse(data) as StreamChunk;
    } catch {
      return;
    }
    if (!o || typeof o !== 'object') return;
    if (typeof o.model === 'string') this.model = o.model;
    const u = usageOf(o.usage);
    if (u) this.usage = u;
    const c = Array.isArray(o.choices) ? o.choices.find((x) => x && (x.index ?? 0) === 0) : undefined;
    if (!c) return;
    const piece = this.endpoint === 'chat' ? c.delta?.content : c.text;
    if (typeof piece === 'string') this.append(piece);
    if (typeof c.finish_reason === 'string') this.finishReason = c.finish_reason;
  }

  private append(piece: string): void {
    if (this.truncated) return;
    const room = this.maxChars - this.text.length;
    if (piece.length <= room) this.text += piece;
    else {
      this.text += piece.slice(0, room);
      this.truncated = true;
    }
  }
}

interface StreamChunk {
  model?: unknown;
  usage?: unknown;
  choices?: Array<{ index?: number; delta?: { content?: unknown }; text?: unknown; message?: { content?: unknown }; finish_reason?: unknown }>;
}

function usageOf(u: unknown): AnswerUsage | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const x = u as Record<string, unknown>;
  if (typeof x.prompt_tokens !== 'number' || typeof x.completion_tokens !== 'number') return undefined;
  return { prompt_tokens: x.prompt_tokens, completion_tokens: x.completion_tokens, ...(typeof x.total_tokens === 'number' ? { total_tokens: x.total_tokens } : {}) };
}

/** The answer in a complete non-streamed JSON body (chat or completions), or undefined. */
export function parseJsonAnswer(text: string, endpoint: Endpoint, maxChars: number): CapturedAnswer | undefined {
  let o: StreamChunk;
  try {
    o = JSON.parse(text) as StreamChunk;
  } catch {
    return undefined;
  }
  if (!o || typeof o !== 'object' || !Array.isArray(o.choices)) return undefined;
  const c = o.choices.find((x) => x && (x.index ?? 0) === 0);
  if (!c) return undefined;
  const raw = endpoint === 'chat' ? c.message?.content : c.text;
  const full = typeof raw === 'string' ? raw : '';
  return {
    model: typeof o.model === 'string' ? o.model : undefined,
    text: full.length > maxChars ? full.slice(0, maxChars) : full,
    truncated: full.length > maxChars,
    finish_reason: typeof c.finish_reason === 'string' ? c.finish_reason : null,
    usage: usageOf(o.usage),
  };
}
