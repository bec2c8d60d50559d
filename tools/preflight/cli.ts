/**
 * `npm run preflight -- -c env=prod [-c key.path=value ...] [--policy]`: checks the caller's AWS
 * account for what would fail a deploy of that environment or keep a fleet from starting, prints
 * one table with a fix per row, and exits 1 when any row blocks the deploy. The context flags and
 * validation are those of `cdk synth` and the planner. `--policy` prints the read-only IAM policy
 * preflight needs instead.
 */
import * as path from 'node:path';
import { loadEnvConfig } from '../../lib/config/load';
import { ConfigError } from '../../contracts/validation';
import { cliContext } from '../plan';
import { defaultClientFactory } from './aws';
import { probeBootstrapVersion } from './checks/bootstrap';
import { execRunner, PreflightDeps } from './context';
import { preflightPolicy } from './policy';
import { formatSummary, formatTable } from './report';
import { exitCode } from './result';
import { runPreflight } from './run';

/** Deadline of each AWS call. */
export const CALL_TIMEOUT_MS = 10_000;

const REPO_ROOT = path.join(__dirname, '..', '..');

/** Where the command writes. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** The real dependencies: the default credential chain, `execFile`, the process environment. */
export function defaultDeps(cdkContext: Readonly<Record<string, unknown>>): PreflightDeps {
  return {
    clients: defaultClientFactory(),
    run: execRunner,
    env: process.env,
    timeoutMs: CALL_TIMEOUT_MS,
    requiredBootstrapVersion: () => probeBootstrapVersion(execRunner, REPO_ROOT, cdkContext),
  };
}

/** Runs the command; returns the exit code (0 ready, 1 blocker or bad configuration, 2 internal error). */
export async function main(argv: readonly string[], out: Output, makeDeps: (cdkContext: Readonly<Record<string, unknown>>) => PreflightDeps = defaultDeps, cdkJsonPath?: string): Promise<number> {
  try {
    const printPolicy = argv.includes('--policy');
    const context = cliContext(argv.filter((a) => a !== '--policy'), cdkJsonPath);
    const config = loadEnvConfig(context);
    if (printPolicy) {
      out.stdout(`${JSON.stringify(preflightPolicy(config), null, 2)}\n`);
      return 0;
    }
    const results = await runPreflight(config, makeDeps(context));
    const width = Math.max(100, Math.min(process.stdout.columns ?? 160, 200));
    out.stdout(`${formatTable(results, width)}\n${formatSummary(config.envName, results)}\n`);
    return exitCode(results);
  } catch (err) {
    if (err instanceof ConfigError) {
      out.stderr(`${err.message}\n`);
      return 1;
    }
    out.stderr(`preflight: internal error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    return 2;
  }
}

if (require.main === module) {
  // The project supports Node 20; the SDK's notice about its future Node 22 floor would print on
  // every run above the table.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  void main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then((code) => process.exit(code));
}
