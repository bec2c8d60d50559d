/**
 * What every check receives: the validated environment config, the caller's account, the clients,
 * a deadline-bound call helper and a command runner. Checks are plain async functions of it.
 */
import { execFile } from 'node:child_process';
import type { EnvConfig } from '../../lib/config/schema';
import { AwsCallError, callAws, ClientFactory, PreflightAction, RegionalClients } from './aws';
import { CheckResult, row } from './result';

/** Outcome of one local command. */
export interface CommandOutcome {
  /** Exit code; null when the command did not run to an end. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it did not run to an end: not installed, or killed at the deadline. */
  readonly failure?: 'not-found' | 'timeout';
}

/** Runs a local command with a deadline; never throws. */
export type CommandRunner = (command: string, args: readonly string[], options: { timeoutMs: number; cwd?: string }) => Promise<CommandOutcome>;

/** The real runner: `execFile`, no shell, output capped at 4 MiB. */
export const execRunner: CommandRunner = (command, args, options) =>
  new Promise((resolve) => {
    execFile(command, [...args], { timeout: options.timeoutMs, cwd: options.cwd, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) {
        resolve({ code: 0, stdout, stderr });
        return;
      }
      const e = error as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
      if (e.code === 'ENOENT') {
        resolve({ code: null, stdout, stderr, failure: 'not-found' });
      } else if (e.killed) {
        resolve({ code: null, stdout, stderr, failure: 'timeout' });
      } else {
        resolve({ code: typeof e.code === 'number' ? e.code : 1, stdout, stderr });
      }
    });
  });

/** Everything preflight needs from outside; tests replace each part. */
export interface PreflightDeps {
  readonly clients: ClientFactory;
  readonly run: CommandRunner;
  /** Environment variables (`CDK_DOCKER` names the container CLI, as for `cdk deploy`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Deadline of each AWS call. */
  readonly timeoutMs: number;
  /** The CDKToolkit version this aws-cdk-lib requires (see bootstrap.ts, probeBootstrapVersion). */
  readonly requiredBootstrapVersion: () => Promise<number>;
}

/** What a check receives. */
export interface CheckContext {
  readonly cfg: EnvConfig;
  /** The caller's account id (from STS). */
  readonly account: string;
  readonly deps: PreflightDeps;
  /** The clients of a region. */
  clients(region: string): RegionalClients;
  /** One SDK call under the per-call deadline; failures arrive as {@link AwsCallError}. */
  call<T>(action: PreflightAction, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T>;
}

/** Builds the context of one run. */
export function checkContext(cfg: EnvConfig, account: string, deps: PreflightDeps): CheckContext {
  return {
    cfg,
    account,
    deps,
    clients: deps.clients,
    call: (action, send) => callAws(action, deps.timeoutMs, send),
  };
}

/** The row for a call that failed in a way the check did not expect. */
export function failedCall(check: string, err: AwsCallError): CheckResult {
  switch (err.kind) {
    case 'denied':
      return row(check, 'UNKNOWN', `${err.code} on ${err.action}: this check could not run`, `allow ${err.action} for the caller (npm run preflight -- --policy prints the whole read-only policy)`);
    case 'credentials':
      return row(check, 'UNKNOWN', `${err.code} on ${err.action}: ${err.message}`, 'refresh the credentials (aws sso login, or new keys) and run preflight again');
    case 'timeout':
      return row(check, 'UNKNOWN', `${err.action}: ${err.message}`, 'check the network path to the AWS endpoints (proxy, VPN) and run preflight again');
    case 'network':
      return row(check, 'UNKNOWN', `${err.action}: network error ${err.code} (${err.message})`, 'check the network path to the AWS endpoints (proxy, VPN) and run preflight again');
    default:
      return row(check, 'UNKNOWN', `${err.action} failed: ${err.code}: ${err.message}`, 'run preflight again; if it persists, check the service in the AWS console');
  }
}

/**
 * Runs one check so that nothing escapes: a failed call becomes its row, any other error an UNKNOWN
 * row with its message (never a stack trace).
 */
export async function guarded(check: string, body: () => Promise<CheckResult[]>): Promise<CheckResult[]> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof AwsCallError) return [failedCall(check, err)];
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return [row(check, 'UNKNOWN', `internal error: ${message}`, 'report this with the command you ran')];
  }
}
