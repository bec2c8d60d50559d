/**
 * A newcomer reads the proxy one module at a time: every proxy source file stays under 350 lines,
 * so a concern that grows gets its own module instead of swelling the request path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '..', '..', 'proxy', 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('proxy module size', () => {
  it('keeps every proxy source file under 350 lines', () => {
    const all = files(SRC);
    expect(all.length).toBeGreaterThan(20);
    const long = all.map((f) => ({ file: path.relative(SRC, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 })).filter((f) => f.lines >= 350);
    expect(long).toEqual([]);
  });
});
