/**
 * Incremental HTTP/1.1 response parser of the lightweight client: status line, headers and body
 * framing (chunked, Content-Length, until close), one read at a time, without a copy of a single
 * chunk's bytes.
 */
import type { ResponseHead } from './types';

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 16 * 1024;
/** Status line (its CR, when there is one, included). */
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r]*)?\r?$/;

const enum S {
  Head,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailer,
  Length,
  UntilClose,
  Done,
}

/**
 * Incremental parser of one HTTP/1.1 response. {@link execute} takes each read as it comes and
 * returns the body bytes it carried, de-chunked; interim 1xx answers are skipped.
 */
export class ResponseParser {
  head: ResponseHead | undefined;
  /** The body ended (terminal chunk and trailers, Content-Length reached, or no body). */
  complete = false;
  /** Why the response is malformed, once it is. */
  error: string | undefined;
  /** Bytes arrived after the end of the response: the connection must not be reused. */
  extra = false;
  private state = S.Head;
  private pending: Buffer | undefined;
  private line = '';
  private remaining = 0;
  /** Body segments of the read being parsed. */
  private one: Buffer | undefined;
  private more: Buffer[] | undefined;

  /** Feeds one read; returns the body bytes in it (undefined for none). Check `error` afterwards. */
  execute(b: Buffer): Buffer | undefined {
    let i = 0;
    const n = b.length;
    while (i < n && this.error === undefined) {
      switch (this.state) {
        case S.Head: {
          const data = this.pending ? Buffer.concat([this.pending, b.subarray(i)]) : b.subarray(i);
          const consumedBefore = this.pending ? this.pending.length : 0;
          const end = headEnd(data);
          if (end < 0) {
            if (data.length > MAX_HEAD) this.error = 'response head too large';
            else this.pending = Buffer.from(data);
            return undefined;
          }
          this.pending = undefined;
          i += end - consumedBefore;
          this.parseHead(data.toString('latin1', 0, end));
          break;
        }
        case S.ChunkSize: {
          let size: number;
          const lf = this.line === '' ? lineFeed(b, i, n) : -1;
          if (lf >= 0) {
            // The whole size line is in this read: parsed from the bytes, no string made.
            size = parseChunkSizeBytes(b, i, lf > i && b[lf - 1] === 13 ? lf - 1 : lf);
            i = lf + 1;
          } else {
            const line = this.readLine(b, i);
            if (line === undefined) return this.out();
            i = line.next;
            size = parseChunkSize(line.text);
          }
          if (size < 0) {
            this.error = 'bad chunk size';
            break;
          }
          if (size === 0) this.state = S.Trailer;
          else {
            this.remaining = size;
            this.state = S.ChunkData;
          }
          break;
        }
        case S.ChunkData: {
          const k = Math.min(this.remaining, n - i);
          if (k > 0) this.take(b.subarray(i, i + k));
          i += k;
          this.remaining -= k;
          if (this.remaining === 0) this.state = S.ChunkDataEnd;
          break;
        }
        case S.ChunkDataEnd: {
          if (this.line === '' && b[i] === 13 && i + 1 < n && b[i + 1] === 10) {
            i += 2;
            this.state = S.ChunkSize;
            break;
          }
          const line = this.readLine(b, i);
          if (line === undefined) return this.out();
          i = line.next;
          if (line.text !== '') this.error = 'chunk not followed by CRLF';
          else this.state = S.ChunkSize;
          break;
        }
        case S.Trailer: {
          const line = this.readLine(b, i);
          if (line === undefined) return this.out();
          i = line.next;
          if (line.text === '') this.done();
          break;
        }
        case S.Length: {
          const k = Math.min(this.remaining, n - i);
          if (k > 0) this.take(b.subarray(i, i + k));
          i += k;
          this.remaining -= k;
          if (this.remaining === 0) this.done();
          break;
        }
        case S.UntilClose:
          this.take(b.subarray(i));
          i = n;
          break;
        case S.Done:
          this.extra = true;
          i = n;
          break;
      }
    }
    return this.out();
  }

  /** The connection ended: a body delimited by the close is complete; tells whether the response is. */
  finish(): boolean {
    if (this.state === S.UntilClose) this.done();
    return this.complete;
  }

  /** Adds a body segment of the current read. */
  private take(seg: Buffer): void {
    if (seg.length === 0) return;
    if (this.one === undefined) this.one = seg;
    else (this.more ??= [this.one]).push(seg);
  }

  /** The body bytes of the current read (usually one segment, handed on without a copy). */
  private out(): Buffer | undefined {
    const { one, more } = this;
    this.one = undefined;
    this.more = undefined;
    return more ? Buffer.concat(more) : one;
  }

  private done(): void {
    this.complete = true;
    this.state = S.Done;
  }

  /** One CRLF- (or LF-) terminated line from `i`, joined with what earlier reads left. */
  private readLine(b: Buffer, i: number): { text: string; next: number } | undefined {
    const lf = b.indexOf(10, i);
    if (lf < 0) {
      this.line += b.toString('latin1', i);
      if (this.line.length > MAX_LINE) this.error = 'line too long';
      return undefined;
    }
    let text = this.line + b.toString('latin1', i, lf);
    this.line = '';
    if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    return { text, next: lf + 1 };
  }

  /**
   * Reads the status line and headers from `text` (the head, blank line included). Lines are
   * scanned in place: a scored request parses three heads (embedding, scorer, tier), and splitting
   * the head into an array of lines cost more than the rest of the parse.
   */
  private parseHead(text: string): void {
    const len = text.length;
    let eol = text.indexOf('\n');
    if (eol < 0) eol = len;
    const m = STATUS_LINE.exec(text.slice(0, eol));
    if (!m) {
      this.error = 'bad status line';
      return;
    }
    const minor = m[1] === '1' ? 1 : 0;
    const status = Number(m[2]);
    const headers: Record<string, string> = {};
    for (let start = eol + 1; start < len; start = eol + 1) {
      eol = text.indexOf('\n', start);
      if (eol < 0) eol = len;
      // One trailing CR is part of the line end.
      const end = eol > start && text.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
      if (end === start) continue;
      const c = text.indexOf(':', start);
      if (c <= start || c >= end || hasSpace(text, start, c)) {
        this.error = 'bad header line';
        return;
      }
      const name = text.slice(start, c).toLowerCase();
      const value = text.slice(c + 1, end).trim();
      const had = headers[name];
      headers[name] = had === undefined ? value : `${had}, ${value}`;
    }
    if (status >= 100 && status < 200) {
      if (status === 101) this.error = 'unexpected protocol switch';
      // Interim answer (100 Continue, 103 Early Hints): the real one follows.
      return;
    }
    const conn = (headers.connection ?? '').toLowerCase();
    let keepAlive = minor === 1 ? !/(^|,)\s*close\s*(,|$)/.test(conn) : /(^|,)\s*keep-alive\s*(,|$)/.test(conn);
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined) {
      if (/(^|,)\s*chunked\s*$/i.test(te)) this.state = S.ChunkSize;
      else {
        this.state = S.UntilClose;
        keepAlive = false;
      }
      if (cl !== undefined) keepAlive = false;
    } else if (cl !== undefined) {
      const parts = cl.split(',').map((s) => s.trim());
      if (!parts.every((p) => /^\d+$/.test(p) && p === parts[0])) {
        this.error = 'bad content-length';
        return;
      }
      this.remaining = Number(parts[0]);
      this.state = S.Length;
    } else if (status === 204 || status === 304) {
      this.state = S.Length;
      this.remaining = 0;
    } else {
      this.state = S.UntilClose;
      keepAlive = false;
    }
    this.head = { status, headers, keepAlive };
    if (this.state === S.Length && this.remaining === 0) this.done();
  }
}

/**
 * Offset of the first LF in `b[from, n)`, or -1. A byte loop: a chunk-size line is a few bytes, and
 * a stream reads one per chunk; a native `indexOf` call costs more than scanning them.
 */
function lineFeed(b: Buffer, from: number, n: number): number {
  for (let i = from; i < n; i++) if (b[i] === 10) return i;
  return -1;
}

/** Whether `s[start, end)` holds whitespace (a header name must not). */
function hasSpace(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13 || c === 10 || c === 11 || c === 12) return true;
  }
  return false;
}

/**
 * Offset just past the blank line ending a response head, or -1. A byte loop: a head is a few
 * hundred bytes, and a native `indexOf` call per line costs more than scanning them.
 */
function headEnd(b: Buffer): number {
  const n = b.length;
  for (let i = 0; i < n; i++) {
    if (b[i] !== 10) continue;
    if (i + 1 < n && b[i + 1] === 10) return i + 2;
    if (i + 2 < n && b[i + 1] === 13 && b[i + 2] === 10) return i + 3;
  }
  return -1;
}

/** Size of a chunk-size line (extensions ignored), or -1 when malformed. */
export function parseChunkSize(line: string): number {
  return parseChunkSizeBytes(Buffer.from(line, 'latin1'), 0, Buffer.byteLength(line, 'latin1'));
}

/** {@link parseChunkSize} of the bytes `b[start, end)`, read without making a string. */
export function parseChunkSizeBytes(b: Buffer, start: number, end: number): number {
  let v = 0;
  let digits = 0;
  let k = start;
  for (; k < end; k++) {
    const c = b[k];
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else break;
    v = v * 16 + d;
    if (++digits > 12) return -1;
  }
  if (digits === 0) return -1;
  while (k < end && (b[k] === 32 || b[k] === 9)) k++;
  if (k < end && b[k] !== 59) return -1;
  return v;
}
