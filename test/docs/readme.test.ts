/**
 * The README is the user's manual: its key table is generated from the configuration and must match
 * it, it starts with the two commands, and every command, file and image it names exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseProxyConfig } from '../../contracts/proxy-config';
import { currentReference, withReference } from '../../tools/config-reference';

const ROOT = path.resolve(__dirname, '..', '..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

describe('README', () => {
  it('carries the configuration key table generated from the defaults and cdk.json (npm run config-reference)', () => {
    expect(withReference(readme, currentReference())).toBe(readme);
  });

  it('starts with the two commands: install and synthesize, then test', () => {
    const firstBlock = /```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = firstBlock.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
    expect(commands).toEqual(['npm ci && npx cdk synth', 'npm test']);
    expect(readme.indexOf('```bash')).toBeLessThan(200);
  });

  it('names only npm scripts that exist', () => {
    const named = [...readme.matchAll(/npm run ([a-z][\w:-]*)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(5);
    expect([...new Set(named)].filter((s) => !(s in pkg.scripts))).toEqual([]);
  });

  it('links only to files that exist', () => {
    const targets = [...readme.matchAll(/\]\(([^)#\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/.test(t));
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter((t) => !existsSync(path.join(ROOT, t)))).toEqual([]);
  });

  it('shows a local proxy config that the proxy accepts', () => {
    const doc = /```json\n(\{ "port"[\s\S]*?)```/.exec(readme)?.[1];
    expect(doc).toBeDefined();
    const config = parseProxyConfig(JSON.parse(doc!));
    expect(config.tiers.map((t) => t.name)).toEqual(['small', 'large']);
  });

  it('stays a manual, not a notebook: at most 510 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(510);
  });
});
