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

/** The repository's cdk.json. */
export const CDK_JSON_PATH = path.join(__dirname, '..', 'cdk.json');

/** The context `cdk synth` sees: cdk.json's context with the command line's `-c key=value` flags on top. */
export function cliContext(argv: readonly string[], cdkJsonPath = CDK_JSON_PATH): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(cdkJsonPath, 'utf8')) as { context?: Record<string, unknown> };
  return { ...(cdkJson.context ?? {}), ...parseContextArgs(argv) };
}

function main(): void {
  try {
    const config = loadEnvConfig(cliContext(process.argv.slice(2)));
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
