/** The preflight table and its summary line, as plain text (no colour codes, safe in CI logs). */
import Table from 'cli-table3';
import { CheckResult, tally } from './result';

/** Renders the rows as one table (check, status, detail, fix) wrapped to `width` columns. */
export function formatTable(results: readonly CheckResult[], width = 160): string {
  // Check names stay on one line up to 30 characters (padding adds 2).
  const checkWidth = Math.min(32, 2 + Math.max(5, ...results.map((r) => r.check.length)));
  const statusWidth = 9;
  // Borders and padding take 3 characters per column plus one.
  const rest = Math.max(40, width - checkWidth - statusWidth - 13);
  const detailWidth = Math.ceil(rest * 0.55);
  const table = new Table({
    head: ['check', 'status', 'detail', 'fix'],
    colWidths: [checkWidth, statusWidth, detailWidth, rest - detailWidth],
    wordWrap: true,
    style: { head: [], border: [] },
  });
  for (const r of results) table.push([r.check, r.status, r.detail, r.fix]);
  return table.toString();
}

/** `prod (us-east-1): 1 blocker, 2 warnings, ...` and what to do next. */
export function formatSummary(envName: string, results: readonly CheckResult[]): string {
  const n = tally(results);
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  const counts = [plural(n.BLOCK, 'blocker'), plural(n.WARN, 'warning'), `${n.UNKNOWN} could not run`, `${n.PASS} passed`, `${n.SKIP} skipped`].join(', ');
  const next = n.BLOCK > 0
    ? `fix the blockers before cdk deploy -c env=${envName}`
    : `ready for cdk deploy -c env=${envName}${n.WARN + n.UNKNOWN > 0 ? ' (read the warnings first)' : ''}`;
  return `preflight ${envName}: ${counts}; ${next}`;
}
