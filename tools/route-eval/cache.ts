/**
 * Recorded scores: embedding vectors and scorer ratings kept on disk by model and input text, so a
 * rerun of route-eval over 15k prompts takes seconds instead of the half hour the CPU embedder
 * needs. The folder is `.cache/route-eval/` (gitignored); delete it to start over.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Default cache folder, relative to the working directory. */
export const DEFAULT_CACHE_DIR = path.join('.cache', 'route-eval');

/** A file-name-safe slug of a model id or URL. */
export function slug(s: string): string {
  return s.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
}

/** Key of one input: the model and the exact text sent (prefix included). */
export function cacheKey(model: string, input: string): string {
  return createHash('sha1').update(model).update('\n').update(input).digest('hex');
}

const KEY_BYTES = 20;

/**
 * Append-only file of vectors: records of [20-byte key][uint32 length][length float32 values].
 * A truncated last record (an interrupted run) is ignored.
 */
export class VectorCache {
  private readonly map = new Map<string, Float32Array>();
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(readonly file: string | undefined) {
    if (!file || !existsSync(file)) return;
    const buf = readFileSync(file);
    let off = 0;
    while (off + KEY_BYTES + 4 <= buf.length) {
      const key = buf.subarray(off, off + KEY_BYTES).toString('hex');
      const n = buf.readUInt32LE(off + KEY_BYTES);
      const start = off + KEY_BYTES + 4;
      if (start + n * 4 > buf.length) break;
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = buf.readFloatLE(start + i * 4);
      this.map.set(key, v);
      off = start + n * 4;
    }
  }

  /** Number of vectors held. */
  get size(): number {
    return this.map.size;
  }

  get(key: string): Float32Array | undefined {
    return this.map.get(key);
  }

  /** Stores a vector; written to disk by {@link flush} (called every 256 KiB). */
  set(key: string, v: ArrayLike<number>): void {
    const f = Float32Array.from(v);
    this.map.set(key, f);
    if (!this.file) return;
    const rec = Buffer.alloc(KEY_BYTES + 4 + f.length * 4);
    Buffer.from(key, 'hex').copy(rec, 0);
    rec.writeUInt32LE(f.length, KEY_BYTES);
    for (let i = 0; i < f.length; i++) rec.writeFloatLE(f[i], KEY_BYTES + 4 + i * 4);
    this.pending.push(rec);
    this.pendingBytes += rec.length;
    if (this.pendingBytes > 256 * 1024) this.flush();
  }

  /** Writes what is pending. */
  flush(): void {
    if (!this.file || this.pending.length === 0) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    appendFileSync(this.file, Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** Append-only JSON-lines file of scorer ratings: `{"k": key, "r": rating}`. */
export class RatingCache {
  private readonly map = new Map<string, number>();
  private pending: string[] = [];

  constructor(readonly file: string | undefined) {
    if (!file || !existsSync(file)) return;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const { k, r } = JSON.parse(line) as { k: string; r: number };
        if (typeof k === 'string' && typeof r === 'number') this.map.set(k, r);
      } catch {
        // an interrupted write: skip the line
      }
    }
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): number | undefined {
    return this.map.get(key);
  }

  set(key: string, r: number): void {
    this.map.set(key, r);
    if (!this.file) return;
    this.pending.push(JSON.stringify({ k: key, r }));
    if (this.pending.length >= 256) this.flush();
  }

  flush(): void {
    if (!this.file || this.pending.length === 0) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    appendFileSync(this.file, this.pending.join('\n') + '\n');
    this.pending = [];
  }
}
