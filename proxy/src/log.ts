/** Structured JSON logs (pino). Keys and prompt text never reach a log line unless `logPrompts` is on. */
import pino, { type Logger } from 'pino';

/** How log lines reach stdout. */
export interface LogOptions {
  /** pino level, e.g. `info`. */
  readonly level: string;
  /**
   * Lines are buffered until this many bytes are waiting, then written in one asynchronous write
   * (0: one write per line). A write per request line costs more CPU than relaying the request.
   */
  readonly bufferBytes: number;
  /** Buffered lines are written at least this often, ms. */
  readonly flushIntervalMs: number;
}

/** The log options of a proxy configuration. */
export function logOptions(c: { logLevel: string; logBufferBytes: number; logFlushIntervalMs: number }): LogOptions {
  return { level: c.logLevel, bufferBytes: c.logBufferBytes, flushIntervalMs: c.logFlushIntervalMs };
}

let lastMs = -1;
let lastTime = '';

/** pino's ISO timestamp, formatted once per millisecond (lines of one burst share it). */
export function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/** The stdout destination of each logger made here, for a synchronous flush at exit. */
const destinations = new WeakMap<Logger, pino.DestinationStream & { flushSync(): void }>();

/** The proxy's logger: buffered asynchronous stdout writes, so logging never stalls a stream. */
export function createLogger(opts: LogOptions): Logger {
  const dest = pino.destination({
    dest: 1,
    sync: false,
    minLength: opts.bufferBytes,
    // Above the largest buffer (config: 32768), so that a full buffer leaves in one write.
    maxWrite: 65536,
    periodicFlush: opts.bufferBytes > 0 ? opts.flushIntervalMs : 0,
  });
  const log = pino(
    {
      level: opts.level,
      base: { service: 'llm-tier-router-proxy' },
      redact: { paths: ['authorization', 'headers.authorization', 'req.headers.authorization', 'apiKeys'], censor: '[redacted]' },
      timestamp: isoTime,
    },
    dest,
  );
  destinations.set(log, dest);
  return log;
}

/** Writes buffered log lines now, synchronously (on shutdown and at exit). */
export function flushLogger(log: Logger): void {
  try {
    const dest = destinations.get(log);
    if (dest) dest.flushSync();
    else log.flush();
  } catch {
    // A closed stdout (or a destination not open yet) must not turn a shutdown into a crash.
  }
}
