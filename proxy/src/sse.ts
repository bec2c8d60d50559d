/**
 * Relaying an upstream SSE stream byte for byte while reading token usage, and dropping the usage
 * chunk the proxy asked for when the client did not. Only frames containing `"usage"` are parsed.
 */

const USAGE = Buffer.from('"usage"');
const LF = 10;
const CR = 13;
/** A frame that never ends is not buffered beyond this; it is passed through unparsed. */
const MAX_TAIL = 1 << 20;

/** Token usage read from a response. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** Stateful relay of one SSE stream. */
export class SseRelay {
  /** Usage seen so far, or undefined. */
  usage: Usage | undefined;
  /** Whether the bytes forwarded so far end at a frame boundary (an error frame may follow). */
  atBoundary = true;
  private tail: Buffer | undefined;

  /** `strip`: drop usage-only chunks (the client did not ask for usage). */
  constructor(private readonly strip: boolean) {}

  /** Bytes to forward for this upstream chunk (possibly the same buffer), or undefined for none. */
  push(chunk: Buffer): Buffer | undefined {
    // Where `"usage"` is in a chunk that holds whole frames only (-2: not looked up).
    const u = this.tail === undefined && endsAtBoundary(chunk) ? chunk.indexOf(USAGE) : -2;
    if (u === -1) {
      this.atBoundary = true;
      return chunk;
    }
    if (!this.strip) {
      this.scan(chunk);
      this.atBoundary = endsAtBoundary(chunk);
      return chunk;
    }
    const data = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    const end = endsAtBoundary(data) ? data.length : lastBoundary(data);
    if (end < data.length && data.length - end <= MAX_TAIL) {
      // A copy: `chunk` may be a view of a read buffer that the next read overwrites.
      this.tail = Buffer.from(data.subarray(end));
    } else {
      this.tail = undefined;
    }
    const complete = end === data.length || this.tail ? data.subarray(0, end) : data;
    if (complete.length === 0) return undefined;
    this.atBoundary = true;
    return this.filter(complete, complete === chunk && u >= 0 ? u : complete.indexOf(USAGE));
  }

  /** Bytes still held at the end of the stream, or undefined. */
  end(): Buffer | undefined {
    const t = this.tail;
    this.tail = undefined;
    if (!t || t.length === 0) return undefined;
    const u = this.strip ? t.indexOf(USAGE) : -1;
    if (u !== -1) {
      const kept = this.filter(t, u);
      return kept && kept.length ? kept : undefined;
    }
    if (!this.strip) {
      this.readFrame(t);
      return undefined;
    }
    return t;
  }

  /** Drops whatever is held (the stream broke); tells whether held bytes were dropped. */
  discard(): boolean {
    const had = this.tail !== undefined && this.tail.length > 0;
    this.tail = undefined;
    return had;
  }

  /** Pass-through mode: parse usage out of complete frames without changing what is forwarded. */
  private scan(chunk: Buffer): void {
    const data = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    const end = endsAtBoundary(data) ? data.length : lastBoundary(data);
    const complete = data.subarray(0, end);
    this.tail = end < data.length && data.length - end <= MAX_TAIL ? Buffer.from(data.subarray(end)) : undefined;
    if (complete.indexOf(USAGE) === -1) return;
    for (const f of splitFrames(complete)) if (f.indexOf(USAGE) !== -1) this.readFrame(f);
  }

  /**
   * Strip mode: keeps every frame except usage-only chunks. `u` is where the first `"usage"` is
   * (-1: none); only frames holding one are parsed.
   */
  private filter(complete: Buffer, u: number): Buffer | undefined {
    if (u === -1) return complete;
    const kept: Buffer[] = [];
    let dropped = false;
    let end = 0;
    for (const f of splitFrames(complete)) {
      end += f.length;
      if (u !== -1 && u < end) {
        u = complete.indexOf(USAGE, end);
        if (this.readFrame(f) === 'usage-only') {
          dropped = true;
          continue;
        }
      }
      kept.push(f);
    }
    if (!dropped) return complete;
    return kept.length ? Buffer.concat(kept) : undefined;
  }

  /** Reads usage from one frame; tells whether it is a usage-only chunk (`choices: []`). */
  private readFrame(frame: Buffer): 'usage-only' | 'other' {
    const json = frameData(frame);
    if (json === undefined) return 'other';
    let v: unknown;
    try {
      v = JSON.parse(json);
    } catch {
      return 'other';
    }
    const usage = (v as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } } | null)?.usage;
    if (!usage || typeof usage !== 'object') return 'other';
    const p = usage.prompt_tokens;
    const c = usage.completion_tokens;
    if (typeof p === 'number' || typeof c === 'number') {
      this.usage = { promptTokens: typeof p === 'number' ? p : 0, completionTokens: typeof c === 'number' ? c : 0 };
    }
    const choices = (v as { choices?: unknown }).choices;
    return Array.isArray(choices) && choices.length === 0 ? 'usage-only' : 'other';
  }
}

/** True when the buffer ends with a blank line (`\n\n`, `\r\n\r\n` or `\r\r`). */
export function endsAtBoundary(b: Buffer): boolean {
  const n = b.length;
  if (n < 2) return false;
  const a = b[n - 2];
  const z = b[n - 1];
  if (z === LF) return a === LF || (a === CR && n >= 4 && b[n - 3] === LF && b[n - 4] === CR) || (a === CR && n >= 3 && b[n - 3] === LF);
  return z === CR && a === CR;
}

const LFLF = Buffer.from('\n\n');

/** Offsets just past each blank line that ends a frame. */
function boundaries(b: Buffer): number[] {
  const out: number[] = [];
  if (b.indexOf(CR) === -1) {
    // LF line ends only (what vLLM sends): a blank line is an LF at a line start, found natively.
    let p = 0;
    for (;;) {
      while (p < b.length && b[p] === LF) out.push(++p);
      const at = b.indexOf(LFLF, p);
      if (at === -1) return out;
      p = at + 2;
      out.push(p);
    }
  }
  let lineStart = 0;
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i];
    if (c === LF || c === CR) {
      let next = i + 1;
      if (c === CR && next < n && b[next] === LF) next++;
      if (i === lineStart) out.push(next);
      lineStart = next;
      i = next;
    } else i++;
  }
  return out;
}

/** Offset just past the last blank line, or 0. */
export function lastBoundary(b: Buffer): number {
  const all = boundaries(b);
  return all.length ? all[all.length - 1] : 0;
}

/** The frames of a buffer that ends at a boundary (each with its terminating blank line). */
export function splitFrames(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (const end of boundaries(b)) {
    out.push(b.subarray(start, end));
    start = end;
  }
  if (start < b.length) out.push(b.subarray(start));
  return out;
}

/** The joined `data:` lines of a frame, or undefined when it has none. */
export function frameData(frame: Buffer): string | undefined {
  const one = singleDataLine(frame);
  if (one !== undefined) return one;
  const lines = frame.toString('utf8').split(/\r\n|\r|\n/);
  let data: string | undefined;
  for (const line of lines) {
    if (!line.startsWith('data:')) continue;
    const v = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === undefined ? v : `${data}\n${v}`;
  }
  return data;
}

/** The value of a frame that is one `data:` line and its blank line (what vLLM sends), else undefined. */
function singleDataLine(frame: Buffer): string | undefined {
  const n = frame.length;
  if (n < 6 || frame[0] !== 0x64 || frame[1] !== 0x61 || frame[2] !== 0x74 || frame[3] !== 0x61 || frame[4] !== 0x3a) return undefined;
  let end = frame.indexOf(LF, 5);
  const cr = frame.indexOf(CR, 5);
  if (cr !== -1 && (end === -1 || cr < end)) end = cr;
  if (end === -1) end = n;
  for (let k = end; k < n; k++) if (frame[k] !== LF && frame[k] !== CR) return undefined;
  return frame.toString('utf8', frame[5] === 32 ? 6 : 5, end);
}

/** Usage from a complete non-streamed JSON answer (looked up by pattern, never a full parse). */
export function usageFromJson(text: string): Usage | undefined {
  const i = text.lastIndexOf('"usage"');
  if (i < 0) return undefined;
  const seg = text.slice(i, i + 400);
  const p = /"prompt_tokens"\s*:\s*(\d+)/.exec(seg);
  const c = /"completion_tokens"\s*:\s*(\d+)/.exec(seg);
  if (!p && !c) return undefined;
  return { promptTokens: p ? Number(p[1]) : 0, completionTokens: c ? Number(c[1]) : 0 };
}
