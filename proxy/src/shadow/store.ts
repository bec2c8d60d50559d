/**
 * The shadow store: comparison pairs batched into gzip JSON-lines objects, written to S3 (in AWS)
 * or a local directory (local runs). A batch goes out when it is full or at the flush interval,
 * one write at a time; the pairs waiting in memory are bounded, and every pair that cannot be kept
 * (buffer full, failed write, shutdown) is counted in `ShadowDropped`, never lost silently.
 *
 * Object keys: `<prefix>dt=<YYYY-MM-DD>/<HHMMSS>-<writer id>-<seq>.jsonl.gz` (UTC): one folder a day
 * for listing, Athena partitions and `route-eval shadow-to-set --prefix`; a random writer id per
 * proxy process keeps the tasks' keys apart.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { ProxyConfig } from '../config';
import type { ShadowMetrics } from '../metrics/registry';

const gzip = promisify(gzipCb);
const WARN_EVERY_MS = 60_000;

/** Writes one object. */
export interface PairWriter {
  /** Where objects go, for the log (`s3://bucket/prefix`, a directory). */
  readonly where: string;
  put(key: string, body: Buffer): Promise<void>;
}

/** Batching options (the `shadow.store` section). */
export interface StoreOptions {
  readonly prefix: string;
  readonly batchMaxPairs: number;
  readonly flushIntervalMs: number;
  readonly maxBufferedPairs: number;
}

/** Buffers pairs and writes them in batches. */
export class PairStore {
  /** Serialized pairs waiting for a batch. */
  private lines: string[] = [];
  /** Pairs in the batch being written. */
  private writing = 0;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private lastWarnAt = -Infinity;
  private closed = false;
  /** Random id of this writer, part of every key. */
  readonly writerId = randomBytes(4).toString('hex');

  constructor(
    private readonly writer: PairWriter,
    private readonly opts: StoreOptions,
    private readonly metrics: ShadowMetrics,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs);
    this.timer.unref();
  }

  /** Pairs held in memory now (waiting or being written). */
  get buffered(): number {
    return this.lines.length + this.writing;
  }

  /** Queues one pair; a full batch is written at once. Never throws for a pair it cannot keep: it counts it. */
  add(pair: object): void {
    if (this.closed) {
      this.metrics.drop('Shutdown');
      return;
    }
    if (this.buffered >= this.opts.maxBufferedPairs) {
      this.metrics.drop('BufferFull');
      return;
    }
    this.lines.push(JSON.stringify(pair));
    if (this.lines.length >= this.opts.batchMaxPairs) void this.flush();
  }

  /** Writes what is buffered, one batch after another; resolves when no write is under way. Never rejects. */
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.lines.length === 0) return Promise.resolve();
    this.inFlight = this.writeBatches().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Stops the timer and writes what is left within `timeoutMs`; what cannot be written is counted. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    let t: NodeJS.Timeout | undefined;
    const done = await Promise.race([this.flush().then(() => true), new Promise<boolean>((r) => (t = setTimeout(r, timeoutMs, false)))]);
    if (t) clearTimeout(t);
    if (!done || this.lines.length > 0) {
      this.metrics.drop('Shutdown', this.lines.length);
      this.lines = [];
    }
  }

  private async writeBatches(): Promise<void> {
    while (this.lines.length > 0) {
      const batch = this.lines.splice(0, this.opts.batchMaxPairs);
      this.writing = batch.length;
      try {
        const body = await gzip(Buffer.from(`${batch.join('\n')}\n`));
        await this.writer.put(this.key(), body);
        this.metrics.stored?.inc(batch.length);
      } catch (e) {
        this.metrics.storeErrors?.inc();
        this.metrics.drop('StoreFailed', batch.length);
        const now = this.clock();
        if (now - this.lastWarnAt >= WARN_EVERY_MS) {
          this.lastWarnAt = now;
          const err = e as Error & { name?: string };
          this.log.warn({ err: err.message, name: err.name, where: this.writer.where, pairs: batch.length }, 'shadow store write failed; these comparison pairs are dropped');
        }
      } finally {
        this.writing = 0;
      }
    }
  }

  private key(): string {
    const d = new Date(this.clock());
    const iso = d.toISOString();
    const day = iso.slice(0, 10);
    const time = iso.slice(11, 19).replace(/:/g, '');
    this.seq++;
    return `${this.opts.prefix}dt=${day}/${time}-${this.writerId}-${String(this.seq).padStart(6, '0')}.jsonl.gz`;
  }
}

/** Writes objects to an S3 bucket with PutObject (the bucket's default encryption applies). */
export class S3PairWriter implements PairWriter {
  readonly where: string;
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    prefix: string,
  ) {
    this.where = `s3://${bucket}/${prefix}`;
  }

  async put(key: string, body: Buffer): Promise<void> {
    // Loaded with the client (see buildPairStore): the SDK stays out of a proxy that stores nothing.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PutObjectCommand } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/gzip' }));
  }
}

/** Writes objects as files below a directory (local runs). */
export class DirectoryPairWriter implements PairWriter {
  constructor(readonly where: string) {}

  async put(key: string, body: Buffer): Promise<void> {
    const file = path.join(this.where, ...key.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, body);
  }
}

/**
 * The store the config asks for, or undefined when sampling is off. The S3 client is loaded on
 * demand, as the CloudWatch client is: the AWS SDK costs RSS a proxy that stores nothing does not need.
 */
export function buildPairStore(config: ProxyConfig, metrics: ShadowMetrics, log: Logger, s3?: S3Client): PairStore | undefined {
  const sh = config.shadow;
  if (sh.sampleRate <= 0) return undefined;
  const st = sh.store;
  let writer: PairWriter;
  if (st.directory !== undefined) writer = new DirectoryPairWriter(st.directory);
  else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { S3Client: Client } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
    const client = s3 ?? new Client(st.region ? { region: st.region } : {});
    writer = new S3PairWriter(client, st.bucket!, st.prefix);
  }
  return new PairStore(writer, st, metrics, log);
}
