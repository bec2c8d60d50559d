/**
 * Benchmark child process: one autocannon run against one target, pinned by the caller to the load
 * core. Prints one JSON line ({@link LoadResult}). Latency is taken from every 2xx response with
 * autocannon's sub-millisecond response time (its own histogram rounds to whole milliseconds).
 *
 *   node load.js '{"url":"http://127.0.0.1:8080/v1/chat/completions","connections":64,"durationS":5,"bodies":["{...}"],"headers":{}}'
 */
import autocannon from 'autocannon';

/** What to run. */
export interface LoadSpec {
  readonly url: string;
  readonly connections: number;
  readonly durationS: number;
  /** Request bodies, cycled per connection. */
  readonly bodies: readonly string[];
  readonly headers: Record<string, string>;
}

/** What one run measured. */
export interface LoadResult {
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly durationS: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** CPU seconds the load generator itself used (it shares its core with the upstreams). */
  readonly cpuS: number;
}

/** Value at quantile q (0-1) of an ascending array, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function main(): void {
  const spec = JSON.parse(process.argv[2]) as LoadSpec;
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  const instance = autocannon(
    {
      url: spec.url,
      connections: spec.connections,
      duration: spec.durationS,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...spec.headers },
      requests: spec.bodies.map((body) => ({ method: 'POST' as const, body })),
      timeout: 10,
    },
    (err, result) => {
      if (err) {
        process.stderr.write(`load: ${err.message}\n`);
        process.exit(1);
      }
      latencies.sort((a, b) => a - b);
      const durationS = result.duration;
      const out: LoadResult = {
        ok,
        non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        durationS,
        rps: ok / durationS,
        p50Ms: quantile(latencies, 0.5),
        p99Ms: quantile(latencies, 0.99),
        meanMs: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
        cpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    },
  );
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300) {
      ok++;
      latencies.push(responseTime);
    } else {
      non2xx++;
    }
  });
}

if (require.main === module) main();
