/**
 * Benchmark child process: hosts the simulated upstreams (tiers and router fleet) in one Node
 * process so the benchmark can pin them to a core. Prints `{"<name>": port, ...}` on one line once
 * every simulator listens; closes them on SIGTERM or SIGINT.
 *
 *   node upstreams.js '[{"name":"small","model":"llama-3.1-8b","role":"generate","chunks":20}]'
 */
import { SimulatorHandle, SimulatorOptions, startVllmSimulator } from '../simulator/vllm-simulator';

/** One simulator to start. */
export interface UpstreamSpec extends SimulatorOptions {
  readonly name: string;
}

async function main(): Promise<void> {
  const specs = JSON.parse(process.argv[2] ?? '[]') as UpstreamSpec[];
  const sims: SimulatorHandle[] = [];
  const ports: Record<string, number> = {};
  for (const s of specs) {
    const sim = await startVllmSimulator(s);
    sims.push(sim);
    ports[s.name] = sim.port;
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  const stop = (): void => {
    Promise.all(sims.map((s) => s.close())).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: Error) => {
  process.stderr.write(`upstreams: ${e.message}\n`);
  process.exit(1);
});
