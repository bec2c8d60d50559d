/**
 * `npx tsx tools/route-eval/scoring-cost.ts [routing-data.json]`: CPU time of the proxy's per-request
 * scoring arithmetic on this machine, microseconds per prompt (the prompts of the shipped set, cut
 * as the proxy cuts them; 768-dimensional vectors as nomic-embed-text returns). Prints the centroid
 * logistic and the learned model side by side, best of five rounds each, interleaved.
 */
import * as path from 'node:path';
import { buildCentroids, promptScore } from '../../proxy/src/routing/model';
import { buildHeuristic } from '../../proxy/src/routing/heuristics';
import { DEFAULT_KEYWORDS } from '../../contracts/routing';
import { DEFAULT_EXEMPLARS_FILE } from '../../proxy/src/config';
import { loadExemplars } from '../../proxy/src/scoring';
import { loadDataset } from './dataset';
import { rng } from './metrics';

const DIMS = 768;

function main(): void {
  const file = process.argv[2] ?? DEFAULT_EXEMPLARS_FILE;
  const data = loadExemplars(file);
  if (!data.model) throw new Error(`${file} has no learned model to compare`);
  const texts = loadDataset(path.join(__dirname, 'data', 'mmlu-gsm8k.jsonl'), 2048).items.map((i) => i.text);
  const next = rng(42);
  const vec = () => Float64Array.from({ length: DIMS }, () => next() - 0.5);
  const simple = data.simple.map(vec);
  const complex = data.complex.map(vec);
  const plain = buildCentroids(simple, complex);
  const learned = buildCentroids(simple, complex, data.model);
  const vectors = Array.from({ length: 256 }, vec);
  const heuristic = buildHeuristic(DEFAULT_KEYWORDS);
  let sink = 0;
  const time = (fn: (t: string, i: number) => number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < texts.length; i++) sink += fn(texts[i], i);
    return Number(process.hrtime.bigint() - t0) / 1000 / texts.length;
  };
  const runs: Record<string, number[]> = { centroid: [], learned: [], heuristic: [] };
  for (let round = 0; round < 6; round++) {
    runs.centroid.push(time((t, i) => promptScore(t, vectors[i & 255], plain, 1)));
    runs.learned.push(time((t, i) => promptScore(t, vectors[i & 255], learned, 1)));
    runs.heuristic.push(time((t) => (heuristic.detect(t) ? 1 : 0)));
  }
  const best = (xs: number[]) => Math.min(...xs.slice(1)).toFixed(2);
  const range = (xs: number[]) => `${Math.min(...xs.slice(1)).toFixed(2)}-${Math.max(...xs.slice(1)).toFixed(2)}`;
  const mean = texts.reduce((a, t) => a + t.length, 0) / texts.length;
  process.stdout.write(
    `${texts.length} prompts, mean ${mean.toFixed(0)} characters, ${DIMS}-dim vectors; us per prompt, best (range) of 5 rounds after a warm-up:\n` +
      `  centroid logistic           ${best(runs.centroid)} (${range(runs.centroid)})\n` +
      `  learned model (features)    ${best(runs.learned)} (${range(runs.learned)})\n` +
      `  math/code heuristic (both)  ${best(runs.heuristic)} (${range(runs.heuristic)})\n` +
      `(checksum ${sink.toFixed(3)})\n`,
  );
}

main();
