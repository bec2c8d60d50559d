/** The preflight table and its summary line, as plain text (no colour codes, safe in CI logs). */
import Table from 'cli-table3';
import { CheckResult, tally } from './result';

/**
 * Wraps `text` to lines of at most `width` characters at spaces, cutting a longer word (an ARN, a
 * command-line flag) into pieces: the table would otherwise truncate it and lose part of a fix.
 */
export function wrapCell(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const pieces = word.match(new RegExp(`.{1,${width}}`, 'g')) ?? [word];
    for (const [index, piece] of pieces.entries()) {
      if (line === '') {
        line = piece;
      } else if (index === 0 && line.length + 1 + piece.length <= width) {
        line = `${line} ${piece}`;
      } else {
        lines.push(line);
        line = piece;
      }
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

/** Renders the rows as one table (check, status, detail, fix) fitted to `width` columns. */
export function formatTable(results: readonly CheckResult[], width = 160): string {
  // Check names stay on one line up to 30 characters (padding adds 2).
  const checkWidth = Math.min(32, 2 + Math.max(5, ...results.map((r) => r.check.length)));
  const statusWidth = 9;
  // Borders take one character per column plus one.
  const rest = Math.max(40, width - checkWidth - statusWidth - 5);
  const detailWidth = Math.ceil(rest * 0.5);
  const widths = [checkWidth, statusWidth, detailWidth, rest - detailWidth];
  const table = new Table({
    head: ['check', 'status', 'detail', 'fix'],
    colWidths: widths,
    style: { head: [], border: [] },
  });
  for (const r of results) {
    table.push([r.check, r.status, r.detail, r.fix].map((cell, i) => wrapCell(cell, widths[i] - 2)));
  }
  return table.toString();
}

/** `preflight prod: 1 blocker, 2 warnings, ...` and what to do next. */
export function formatSummary(envName: string, results: readonly CheckResult[]): string {
  const n = tally(results);
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  const counts = [plural(n.BLOCK, 'blocker'), plural(n.WARN, 'warning'), `${n.UNKNOWN} could not run`, `${n.PASS} passed`, `${n.SKIP} skipped`].join(', ');
  const next = n.BLOCK > 0
    ? `fix the blockers before cdk deploy -c env=${envName}`
    : `ready for cdk deploy -c env=${envName}${n.WARN + n.UNKNOWN > 0 ? ' (read the warnings first)' : ''}`;
  return `preflight ${envName}: ${counts}; ${next}`;
}
