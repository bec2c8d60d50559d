/**
 * Dependency direction: code shared by the stack, the proxy and the pre-warm function lives in
 * contracts/; lib/, proxy/ and lambda/ import it and never each other, and contracts/ imports only
 * npm packages that every deployable can bundle (never aws-cdk-lib).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Every module specifier a file imports, re-exports or requires. */
function specifiers(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const out: string[] = [];
  const re = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]);
  return out;
}

/** Top-level folder of the repository a relative import lands in, or the package name. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return `npm:${spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]}`;
  const abs = path.resolve(path.dirname(path.join(ROOT, file)), spec);
  return path.relative(ROOT, abs).split(path.sep)[0];
}

function edges(dir: string): Array<{ file: string; spec: string; to: string }> {
  return sources(dir).flatMap((file) => specifiers(file).map((spec) => ({ file, spec, to: target(file, spec) })));
}

describe('dependency direction', () => {
  it.each([
    ['lib', ['proxy', 'lambda', 'tools', 'test', 'bin']],
    ['proxy', ['lib', 'lambda', 'tools', 'test', 'bin']],
    ['lambda', ['lib', 'proxy', 'tools', 'test', 'bin']],
    ['contracts', ['lib', 'proxy', 'lambda', 'tools', 'test', 'bin']],
  ])('%s/ imports none of %j', (dir, forbidden) => {
    const bad = edges(dir).filter((e) => forbidden.includes(e.to)).map((e) => `${e.file} -> ${e.spec}`);
    expect(bad).toEqual([]);
  });

  it('contracts/ uses no npm package but zod (it is bundled into the proxy and the Lambda)', () => {
    const packages = new Set(edges('contracts').filter((e) => e.to.startsWith('npm:') && !e.to.startsWith('npm:node:')).map((e) => e.to));
    expect([...packages].filter((p) => p !== 'npm:zod')).toEqual([]);
  });

  it('finds the imports it checks (the scan is not empty)', () => {
    expect(edges('lib').some((e) => e.to === 'contracts')).toBe(true);
    expect(edges('proxy').some((e) => e.to === 'contracts')).toBe(true);
    expect(edges('lambda').some((e) => e.to === 'contracts')).toBe(true);
  });
});
