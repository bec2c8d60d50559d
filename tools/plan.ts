/**
 * `npm run plan -- -c env=prod [-c key.path=value ...]`: prints the capacity and cost plan of an
 * environment, with the same context flags and validation as `cdk synth`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadEnvConfig } from '../lib/config/load';
import { ConfigError } from '../contracts/validation';
import { formatPlan, planEnvironment } from '../lib/plan';

/** Parses `-c key=value` / `--context key=value` / `--context=key=value` flags. */
export function parseContextArgs(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let pair: string | undefined;
    if (arg === '-c' || arg === '--context') {
      pair = argv[++i];
    } else if (arg.startsWith('--context=')) {
      pair = arg.slice('--context='.length);
    } else {
      throw new ConfigError([`${arg}: got an unknown argument, expected -c key=value`]);
    }
    const eq = pair?.indexOf('=') ?? -1;
    if (pair === undefined || eq <= 0) {
      throw new ConfigError([`${pair ?? arg}: got a context flag without a value, expected -c key=value`]);
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function main(): void {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  try {
    const context = { ...(cdkJson.context ?? {}), ...parseContextArgs(process.argv.slice(2)) };
    const config = loadEnvConfig(context);
    process.stdout.write(`${formatPlan(planEnvironment(config))}\n`);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

if (require.main === module) {
  main();
}
