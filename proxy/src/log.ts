/** Structured JSON logs (pino). Keys and prompt text never reach a log line unless `logPrompts` is on. */
import pino, { type Logger } from 'pino';

/** The proxy's logger: asynchronous stdout writes so logging never stalls a stream. */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'llm-tier-router-proxy' },
      redact: { paths: ['authorization', 'headers.authorization', 'req.headers.authorization', 'apiKeys'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: 1, sync: false }),
  );
}

/** Flushes buffered log lines (on shutdown). */
export function flushLogger(log: Logger): void {
  try {
    log.flush();
  } catch {
    // A closed stdout must not turn a shutdown into a crash.
  }
}
