import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { main, parseOptions } from '../../tools/route-eval/cli';
import { routingDataProblems } from '../../contracts/routing-data';
import { CompiledModel } from '../../proxy/src/routing/model';

jest.setTimeout(120_000);

const repo = path.join(__dirname, '..', '..');
const dir = mkdtempSync(path.join(tmpdir(), 'route-eval-'));

/** Four topics; long "explain" prompts gain from the large tier, short lookups do not. */
function labelledSet(): string {
  const lines: string[] = [];
  ['physics', 'law', 'cooking', 'travel'].forEach((topic, g) => {
    for (let i = 0; i < 30; i++) {
      const hard = i % 3 === 0;
      const prompt = hard
        ? `Explain step by step, with the reasoning behind each step, how ${topic} case ${i} works, and compare it with case ${i + 1}: which assumptions fail, and why?`
        : `What is ${topic} item ${i}?`;
      lines.push(JSON.stringify({ prompt, group: topic, small: hard ? (i + g) % 2 : 1, large: 1 }));
    }
  });
  return lines.join('\n');
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(args, repo);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('npm run route-eval', () => {
  const set = path.join(dir, 'set.jsonl');
  writeFileSync(set, labelledSet());

  test('a labelled set: baselines, the proxy, held-out and in-distribution routers, calibration, chart, emitted routing data', async () => {
    const chart = path.join(dir, 'out', 'curves');
    const emit = path.join(dir, 'routing-data.json');
    const r = await run([set, '--local-embedder', 'hashing', '--no-cache', '--bootstrap', '50', '--routers', 'text-logistic,logistic', '--chart', chart, '--emit', emit]);
    expect(r.err).not.toMatch(/route-eval:/);
    expect(r.code).toBe(0);
    for (const row of ['all-small', 'all-large', 'random (mean of 10)', 'oracle', 'prompt length', 'proxy (learned model)']) expect(r.out).toContain(row);
    expect(r.out).toMatch(/text-logistic\s+held-out\s+\d\.\d{3}\s+\[\d\.\d{3}, \d\.\d{3}\]/);
    expect(r.out).toMatch(/logistic\s+in-dist/);
    expect(r.out).toMatch(/quality >= 0\.95 x large .* -c routing\.threshold=\d\.\d{3}/);
    expect(existsSync(`${chart}.svg`) && existsSync(`${chart}.png`)).toBe(true);
    const data = JSON.parse(readFileSync(emit, 'utf8'));
    expect(routingDataProblems(data)).toEqual([]);
    expect(data.model.features).toEqual(expect.arrayContaining(['log_chars', 'log_words']));
    expect(data.model.trainedWith).toMatchObject({ set: 'set.jsonl', embeddingModel: 'hashing-256' });
    expect(new CompiledModel(data.model).score('Explain step by step why the sky is blue.', 0)).toBeGreaterThan(new CompiledModel(data.model).score('What is 2?', 0));
  });

  test('an unlabelled set is audited: score distribution and share per tier at candidate thresholds', async () => {
    const unl = path.join(dir, 'traffic.jsonl');
    writeFileSync(unl, ['Hi there', 'Prove that sqrt(2) is irrational.', 'Summarize this email for me please.'].map((p) => JSON.stringify({ prompt: [{ role: 'user', content: p }] })).join('\n'));
    const r = await run([unl, '--local-embedder', 'hashing', '--no-cache', '--thresholds', '0.2,0.65']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('3 unlabelled prompts: audit');
    expect(r.out).toMatch(/forced to the large tier by the math\/code heuristic/);
    expect(r.out).toMatch(/0\.65\s+\d+\.\d%\s+\d+\.\d%\s+\(configured\)/);
  });

  test('-c overrides reach the policy the proxy would run', async () => {
    const r = await run([set, '--local-embedder', 'hashing', '--no-cache', '--bootstrap', '0', '--routers', 'text-logistic', '--chart', path.join(dir, 'c2'), '-c', 'routing.threshold=0.4']);
    expect(r.out).toMatch(/configured\s+-c routing\.threshold=0\.400/);
  });

  test('bad input: exit 2 with the file, line and field, no stack trace', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"prompt": "ok", "group": "a", "small": 1, "large": 0}\n{"prompt": 3, "group": "a"}\n');
    const r = await run([bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:2: prompt: got 3, expected a string or a list of chat messages`);
    expect(r.err).not.toMatch(/\n\s+at /);
    const c = await run([set, '-c', 'routing.threshold=2']);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/routing\.threshold: got 2/);
  });

  test('options are checked together', () => {
    expect(() => parseOptions(['a.jsonl', '--local-embedder', 'bert', '--routers', 'svm', '--bootstrap', 'x'])).toThrow(/--local-embedder: got "bert"[\s\S]*--routers: got "svm"[\s\S]*--bootstrap: got "x"/);
    expect(parseOptions(['a.jsonl', '--embeddings', 'http://127.0.0.1:9103/v1/'])).toMatchObject({ embeddingsUrl: 'http://127.0.0.1:9103' });
  });
});
