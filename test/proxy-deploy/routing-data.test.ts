import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../contracts/validation';
import { parseProxyConfig } from '../../contracts/proxy-config';
import { routingData } from '../../proxy/src/scoring';
import { configFor, proxyStack, renderedConfig } from './fixture';

const dir = mkdtempSync(path.join(tmpdir(), 'routing-data-'));
const write = (name: string, content: unknown) => {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};
const model = { features: ['log_chars', 'centroid_z'], mean: [5, 0], scale: [1, 1], weights: [0.3, 0.2], intercept: -1 };
const good = write('staging.json', { simple: ['What time is it?'], complex: ['Prove that there are infinitely many primes.'], model });

const problemsOf = (file: string): string[] => {
  try {
    configFor('dev', { 'routing.exemplarsFile': file });
  } catch (e) {
    if (e instanceof ConfigError) return [...e.issues];
    throw e;
  }
  return [];
};

describe('per-environment routing data (-c routing.exemplarsFile=...)', () => {
  const doc = renderedConfig(proxyStack(configFor('staging', { 'routing.exemplarsFile': good })).template());

  it('the synthesized task definition carries the file inline in LLM_ROUTER_CONFIG', () => {
    expect(doc.router.exemplars).toEqual(JSON.parse(readFileSync(good, 'utf8')));
  });

  it('the proxy reading that config uses the inline data, weights included', () => {
    const cfg = parseProxyConfig({ ...doc, allowUnauthenticated: true, tiers: doc.tiers.map((t: Record<string, unknown>) => ({ ...t, baseUrl: 'http://127.0.0.1:1' })), router: { ...doc.router, embedding: { ...doc.router.embedding, baseUrl: 'http://127.0.0.1:1' }, scorer: { ...doc.router.scorer, baseUrl: 'http://127.0.0.1:1' } } });
    expect(routingData(cfg).model?.weights).toEqual([0.3, 0.2]);
    expect(routingData(cfg).complex).toEqual(['Prove that there are infinitely many primes.']);
  });

  it('without the key nothing is inlined and the proxy reads the file shipped in its image', () => {
    const plain = renderedConfig(proxyStack(configFor('staging')).template());
    expect(plain.router).not.toHaveProperty('exemplars');
    expect(plain.router).not.toHaveProperty('exemplarsFile');
  });

  it('a missing file fails synth with one clear line', () => {
    const missing = path.join(dir, 'nope.json');
    expect(problemsOf(missing)).toEqual([`routing.exemplarsFile: got "${missing}", expected a readable routing data file (ENOENT)`]);
  });

  it('a file that is not JSON fails synth naming the file', () => {
    const bad = write('bad.json', '{"simple": [');
    const [line] = problemsOf(bad);
    expect(line).toMatch(new RegExp(`^routing\\.exemplarsFile: got ".*bad\\.json", expected a JSON routing data file \\(`));
  });

  it('a malformed document fails synth naming every problem inside it', () => {
    const bad = write('malformed.json', { simple: [], complex: ['x'], model: { ...model, features: ['log_chars', 'shoe_size'] } });
    const [line] = problemsOf(bad);
    expect(line).toContain('routing.exemplarsFile: got');
    expect(line).toContain('simple: got [], expected a non-empty list of prompts');
    expect(line).toContain('model.features.1: got "shoe_size", expected one of log_chars');
  });

  it('a file too large for the task definition fails synth with its size', () => {
    const big = write('big.json', { simple: Array.from({ length: 400 }, (_, i) => `simple prompt number ${i} `.repeat(5)), complex: ['x'] });
    expect(problemsOf(big)[0]).toMatch(/^routing\.exemplarsFile: got ".*big\.json" of \d+ bytes, expected at most 32768 bytes of JSON/);
  });
});
