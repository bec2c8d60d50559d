/**
 * `npm run fleet-sim:speed [-- -c env=prod]`: how the simulator's run time grows with simulated hours
 * and request rate. Synthesizes once, then times runs of a steady trace (the heaviest: every second
 * carries traffic) and prints wall and CPU seconds of each. Run it pinned to one core with
 * `taskset -c 0 npm run fleet-sim:speed` to measure the one-core figure.
 */
import { readSimModel } from './model';
import { runSimulation } from './run';
import { synthesizeEnvironment } from './synth';

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

function main(): void {
  const flags: Record<string, string> = { env: 'prod' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if ((argv[i] === '-c' || argv[i] === '--context') && argv[i + 1]?.includes('=')) {
      const [k, ...v] = argv[++i].split('=');
      flags[k] = v.join('=');
    }
  }
  let cpu = process.cpuUsage();
  let wall = Date.now();
  const env = synthesizeEnvironment(flags);
  const model = readSimModel(env.template);
  process.stdout.write(`synthesis of ${env.stackName}: ${((Date.now() - wall) / 1000).toFixed(2)} s wall, ${cpuSeconds(cpu).toFixed(2)} s CPU\n`);
  const maxRate = runSimulation(model, env.config.workload, { hours: 0.01, trace: 'steady', load: 1 }).prepared.maxRate;
  process.stdout.write(`maximum rate of ${env.envName}: ${maxRate.toFixed(2)} req/s\n\n`);
  process.stdout.write('hours  rate (x max)  req/s     requests     wall s   CPU s   CPU us per simulated second\n');
  const cases: Array<[number, number]> = [[6, 1], [24, 1], [96, 1], [24, 0.1], [24, 10], [24, 100]];
  for (const [hours, load] of cases) {
    cpu = process.cpuUsage();
    wall = Date.now();
    const { outcome } = runSimulation(model, env.config.workload, { hours, trace: 'steady', load, start: '2025-06-02T00:00' });
    const c = cpuSeconds(cpu);
    let requests = 0;
    for (const v of outcome.arrivalsPerMinute) requests += v;
    process.stdout.write(`${String(hours).padStart(5)}  ${String(load).padStart(12)}  ${(load * maxRate).toFixed(1).padStart(6)}  ${requests.toLocaleString('en-US').padStart(11)}  ${((Date.now() - wall) / 1000).toFixed(2).padStart(9)}  ${c.toFixed(2).padStart(6)}  ${((c * 1e6) / (hours * 3600)).toFixed(1).padStart(8)}\n`);
  }
}

main();
