/**
 * `npm run config-reference`: writes the configuration key table into the README between its
 * markers; `-- --check` exits 1 when the README's table differs from the config (used by the tests).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { REFERENCE_MARKERS, renderConfigReference } from '../lib/config/reference';

const ROOT = path.resolve(__dirname, '..');

/** The README with its reference block replaced by `table`; throws when the markers are missing. */
export function withReference(readme: string, table: string): string {
  const start = readme.indexOf(REFERENCE_MARKERS.start);
  const end = readme.indexOf(REFERENCE_MARKERS.end);
  if (start < 0 || end < start) {
    throw new Error(`README.md: got no "${REFERENCE_MARKERS.start}" ... "${REFERENCE_MARKERS.end}" block, expected both markers around the key table`);
  }
  return `${readme.slice(0, start + REFERENCE_MARKERS.start.length)}\n${table}\n${readme.slice(end)}`;
}

/** The table generated from the defaults and `cdk.json`'s environments. */
export function currentReference(root = ROOT): string {
  const cdk = JSON.parse(readFileSync(path.join(root, 'cdk.json'), 'utf8')) as { context?: { environments?: Record<string, unknown> } };
  return renderConfigReference(cdk.context?.environments ?? {});
}

if (require.main === module) {
  const file = path.join(ROOT, 'README.md');
  const readme = readFileSync(file, 'utf8');
  try {
    const next = withReference(readme, currentReference());
    if (process.argv.includes('--check')) {
      if (next !== readme) {
        process.stderr.write('README.md: the configuration key table is out of date; run `npm run config-reference`\n');
        process.exit(1);
      }
    } else if (next !== readme) {
      writeFileSync(file, next);
      process.stdout.write('README.md: configuration key table updated\n');
    }
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
}
