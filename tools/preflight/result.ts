/**
 * One row of the preflight table and the rules that turn rows into an exit code. A blocker makes
 * `cdk deploy` fail or leaves a fleet unable to start; a warning costs money or visibility but
 * deploys; unknown means the check could not run (a denied permission, a timeout).
 */

/** Outcome of one check. */
export type Status = 'PASS' | 'WARN' | 'BLOCK' | 'UNKNOWN' | 'SKIP';

/** One row of the table. */
export interface CheckResult {
  /** What was checked, e.g. `CDK bootstrap (us-east-1)`. */
  readonly check: string;
  readonly status: Status;
  /** What was found. */
  readonly detail: string;
  /** What to do about it; empty when nothing is needed. */
  readonly fix: string;
}

/** Builds a row. */
export function row(check: string, status: Status, detail: string, fix = ''): CheckResult {
  return { check, status, detail, fix };
}

/** 1 when any row blocks the deploy, else 0: warnings and checks that could not run do not fail. */
export function exitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'BLOCK') ? 1 : 0;
}

/** Counts of each status, for the summary line. */
export function tally(results: readonly CheckResult[]): Record<Status, number> {
  const counts: Record<Status, number> = { PASS: 0, WARN: 0, BLOCK: 0, UNKNOWN: 0, SKIP: 0 };
  for (const r of results) counts[r.status]++;
  return counts;
}
