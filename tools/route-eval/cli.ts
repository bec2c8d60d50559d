/**
 * `npm run route-eval -- <set.jsonl> [options]`: measures routing quality on labelled prompts with
 * the proxy's own scoring code and config, compares it with baselines and trained routers held out
 * by group, calibrates the tier boundary, draws the curves, audits unlabelled traffic, and trains
 * routing data (exemplars plus weights) for a given embeddings endpoint.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadEnvConfig } from '../../lib/config/load';
import type { EnvConfig } from '../../lib/config/schema';
import { MODEL_CATALOG } from '../../lib/catalog/models';
import { ConfigError } from '../../contracts/validation';
import type { DecisionPolicy } from '../../proxy/src/routing/decide';
import { buildHeuristic } from '../../proxy/src/routing/heuristics';
import { loadExemplars, type Exemplars } from '../../proxy/src/scoring';
import { DEFAULT_EXEMPLARS_FILE } from '../../proxy/src/config';
import { writeChart } from '../charts/render';
import { hashingEmbedder, universalSentenceEncoder } from '../simulator/sentence-embedder';
import { DEFAULT_CACHE_DIR } from './cache';
import { DatasetError, loadDataset, type Item } from './dataset';
import { apgrInterval, figures, fullCurve, oracleFigures, randomFigures, shareForQuality, targets, type Labels } from './metrics';
import { curveChart, histogram, table, type Row } from './report';
import {
  FORCED_SCORE, dataCentroidLearner, featureMatrix, featureNames, geometryOf, knnLearner, logisticLearner, proxyScores, proxyTiers, selectCols, spreadLikePercentiles, toModelSpec,
  type Geometry, type LogisticChoice, type Signals,
} from './routers';
import { embedTexts, rateTexts, type EmbeddingSource } from './signals';
import { chooseInner, fitLogistic, gainTarget, nestedLeaveGroupOut, predictLogit, type Learner } from './train';

const USAGE = `Usage: npm run route-eval -- <set.jsonl> [options]

Input: JSON lines {"prompt": string | chat messages, "group": string, "small": number, "large": number}
(small/large: quality of each tier's answer, 0/1 or a 0-1 judge score). Without small/large on every
line the set is audited instead (score distribution and share per tier at candidate thresholds).

Signals (the proxy's own clients and scoring code):
  --embeddings <url>          OpenAI-compatible embeddings server root (e.g. http://127.0.0.1:9103)
  --embeddings-model <name>   model name sent (default: the configured router embedding model's served name)
  --query-prefix <text>       prefix before every text (default: the configured model's, e.g. "search_query: ")
  --local-embedder <name>     embed in-process instead: "use" (Universal Sentence Encoder, CPU) or "hashing"
  --scorer <url>              scorer LLM server root; its 0-10 rating is weighted in as the proxy does
  --scorer-model <name>       model name sent (default: the configured scorer's served name)
  --cache-dir <dir>           recorded vectors and ratings (default ${DEFAULT_CACHE_DIR}); --no-cache to skip

Config (as \`cdk deploy\` would render it):
  --env <name>                environment of cdk.json (default dev)
  -c, --context <key=value>   config override, repeatable (e.g. -c routing.threshold=0.58)
  --routing-data <file>       routing data file (exemplars + optional weights) instead of the configured one

Evaluation:
  --routers <list>            trained routers to hold out by group (default text-logistic,logistic,centroid-data;
                              also knn; none for only the baselines and the proxy)
  --folds <n>                 outer folds of groups (default: every group alone, leave-one-group-out)
  --bootstrap <n>             bootstrap resamples for the 95% intervals (default 1000; 0 skips)
  --bootstrap-by <what>       item or group (default item)
  --target-share <x>          calibrate: boundary sending this share to the large tier
  --quality-floor <x>         calibrate: cheapest boundary keeping this fraction of the large tier's quality (default 0.95)
  --thresholds <list>         candidate thresholds of the audit (default 0.3,0.4,0.5,0.6,0.65,0.7,0.8)
  --chart <base>              write <base>.svg and <base>.png (default route-eval-out/curves)
  --limit <n>                 only the first n prompts
  --emit <file>               train the logistic router on the whole set (regularization and features
                              chosen by grouped cross-validation) and write routing data: the configured
                              exemplars plus the weights, for this embeddings source
  --json <file>               write the figures as JSON
`;

interface Options {
  set: string;
  embeddingsUrl?: string;
  embeddingsModel?: string;
  queryPrefix?: string;
  localEmbedder?: 'use' | 'hashing';
  scorerUrl?: string;
  scorerModel?: string;
  cacheDir?: string;
  env: string;
  context: Record<string, string>;
  routingData?: string;
  routers: string[];
  folds?: number;
  bootstrap: number;
  bootstrapBy: 'item' | 'group';
  targetShare?: number;
  qualityFloor: number;
  thresholds: number[];
  chart: string;
  limit?: number;
  emit?: string;
  json?: string;
}

const TRAINED = ['text-logistic', 'logistic', 'centroid-data', 'knn'] as const;

/** Parses the command line; throws an Error listing every problem. */
export function parseOptions(argv: string[]): Options | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      embeddings: { type: 'string' },
      'embeddings-model': { type: 'string' },
      'query-prefix': { type: 'string' },
      'local-embedder': { type: 'string' },
      scorer: { type: 'string' },
      'scorer-model': { type: 'string' },
      'cache-dir': { type: 'string' },
      'no-cache': { type: 'boolean' },
      env: { type: 'string' },
      context: { type: 'string', short: 'c', multiple: true },
      'routing-data': { type: 'string' },
      routers: { type: 'string' },
      folds: { type: 'string' },
      bootstrap: { type: 'string' },
      'bootstrap-by': { type: 'string' },
      'target-share': { type: 'string' },
      'quality-floor': { type: 'string' },
      thresholds: { type: 'string' },
      chart: { type: 'string' },
      limit: { type: 'string' },
      emit: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const problems: string[] = [];
  if (positionals.length !== 1) problems.push(`<set.jsonl>: got ${positionals.length} file names, expected one`);
  const num = (flag: string, raw: string | undefined, lo: number, hi: number, int = false): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < lo || n > hi || (int && !Number.isInteger(n))) {
      problems.push(`--${flag}: got ${JSON.stringify(raw)}, expected ${int ? 'an integer' : 'a number'} from ${lo} to ${hi}`);
      return undefined;
    }
    return n;
  };
  const url = (flag: string, raw: string | undefined): string | undefined => {
    if (raw !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(raw)) problems.push(`--${flag}: got ${JSON.stringify(raw)}, expected an http(s) URL such as http://127.0.0.1:9103`);
    return raw?.replace(/\/+$/, '').replace(/\/v1$/, '');
  };
  const local = values['local-embedder'];
  if (local !== undefined && local !== 'use' && local !== 'hashing') problems.push(`--local-embedder: got ${JSON.stringify(local)}, expected use or hashing`);
  if (local !== undefined && values.embeddings !== undefined) problems.push('--local-embedder: got it with --embeddings, expected one embedding source');
  const context: Record<string, string> = {};
  for (const kv of values.context ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) problems.push(`-c: got ${JSON.stringify(kv)}, expected key.path=value`);
    else context[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const routers = values.routers === 'none' ? [] : (values.routers ?? 'text-logistic,logistic,centroid-data').split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of routers) if (!(TRAINED as readonly string[]).includes(r)) problems.push(`--routers: got ${JSON.stringify(r)}, expected any of ${TRAINED.join(', ')}`);
  const by = values['bootstrap-by'] ?? 'item';
  if (by !== 'item' && by !== 'group') problems.push(`--bootstrap-by: got ${JSON.stringify(by)}, expected item or group`);
  const thresholds = (values.thresholds ?? '0.3,0.4,0.5,0.6,0.65,0.7,0.8').split(',').map((t) => num('thresholds', t.trim(), 0, 1) ?? NaN);
  const opts: Options = {
    set: positionals[0],
    embeddingsUrl: url('embeddings', values.embeddings),
    embeddingsModel: values['embeddings-model'],
    queryPrefix: values['query-prefix'],
    localEmbedder: local as Options['localEmbedder'],
    scorerUrl: url('scorer', values.scorer),
    scorerModel: values['scorer-model'],
    cacheDir: values['no-cache'] ? undefined : values['cache-dir'] ?? DEFAULT_CACHE_DIR,
    env: values.env ?? 'dev',
    context,
    routingData: values['routing-data'],
    routers,
    folds: num('folds', values.folds, 2, 10_000, true),
    bootstrap: num('bootstrap', values.bootstrap, 0, 100_000, true) ?? 1000,
    bootstrapBy: by as Options['bootstrapBy'],
    targetShare: num('target-share', values['target-share'], 0, 1),
    qualityFloor: num('quality-floor', values['quality-floor'], 0, 1) ?? 0.95,
    thresholds,
    chart: values.chart ?? path.join('route-eval-out', 'curves'),
    limit: num('limit', values.limit, 1, 1e9, true),
    emit: values.emit,
    json: values.json,
  };
  if (problems.length) throw new Error(problems.join('\n'));
  return opts;
}

/** The environment's config as `cdk synth` validates it, with the command line's overrides. */
export function loadConfig(env: string, overrides: Record<string, string>, repoRoot: string): EnvConfig {
  const cdk = JSON.parse(readFileSync(path.join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return loadEnvConfig({ ...cdk.context, env, ...overrides });
}

/** The decision policy the proxy builds from a rendered config (two tiers: one boundary per tier after the first). */
export function policyOf(cfg: EnvConfig): DecisionPolicy {
  const r = cfg.routing;
  const n = cfg.tiers.length;
  const boundaries: number[] = [];
  for (let i = 1; i < n; i++) boundaries.push((r.threshold * i) / (n - 1));
  const fallback = cfg.tiers.findIndex((t) => t.name === r.fallbackTier);
  return {
    boundaries,
    embeddingWeight: r.embeddingWeight,
    ratingWeight: r.ratingWeight,
    fastPathMargin: r.fastPathMargin,
    keywordPolicy: r.keywordPolicy,
    keywordBias: r.keywordBias,
    fallbackTier: fallback >= 0 ? fallback : n - 1,
  };
}

const log = (s = '') => process.stdout.write(`${s}\n`);
const progress = (what: string) => {
  let last = 0;
  return (done: number, total: number) => {
    const now = Date.now();
    if (done === total || now - last > 2000) {
      last = now;
      process.stderr.write(`  ${what}: ${done}/${total}\r${done === total ? '\n' : ''}`);
    }
  };
};

/** Runs route-eval; resolves to the exit code. */
export async function main(argv: string[], repoRoot = process.cwd()): Promise<number> {
  let opts: Options;
  try {
    const parsed = parseOptions(argv);
    if (parsed === 'help') {
      log(USAGE);
      return 0;
    }
    opts = parsed;
  } catch (e) {
    process.stderr.write(`route-eval: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  let cfg: EnvConfig;
  try {
    cfg = loadConfig(opts.env, opts.context, repoRoot);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`route-eval: invalid configuration\n${e.issues.map((i) => `  ${i}`).join('\n')}\n`);
      return 2;
    }
    throw e;
  }
  const r = cfg.routing;
  let items: Item[];
  let labelled: boolean;
  let data: Exemplars;
  const dataFile = opts.routingData ?? configuredRoutingData(cfg, repoRoot);
  try {
    const ds = loadDataset(opts.set, r.truncateChars);
    items = opts.limit ? ds.items.slice(0, opts.limit) : ds.items;
    labelled = ds.labelled;
    data = loadExemplars(dataFile);
  } catch (e) {
    if (e instanceof DatasetError || e instanceof Error) {
      process.stderr.write(`route-eval: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const policy = policyOf(cfg);
  const heuristic = buildHeuristic(r.keywords);
  const texts = items.map((i) => i.text);
  const sig: { -readonly [K in keyof Signals]: Signals[K] } = {
    texts,
    hits: texts.map((t) => r.keywordPolicy !== 'off' && heuristic.detect(t) !== undefined),
  };

  const source = embeddingSource(opts, cfg);
  let geometry: Geometry | undefined;
  let geometryData: Geometry | undefined;
  const t0 = performance.now();
  if (source) {
    log(`embeddings: ${source.kind === 'local' ? `${source.embedder.id} in-process` : `${source.model} at ${source.url}`}${source.queryPrefix ? ` (prefix ${JSON.stringify(source.queryPrefix)})` : ''}`);
    const ev = await embedTexts([...data.simple, ...data.complex], source, opts.cacheDir);
    const simpleV = ev.slice(0, data.simple.length);
    const complexV = ev.slice(data.simple.length);
    geometry = geometryOf(simpleV, complexV);
    geometryData = geometryOf(simpleV, complexV, data.model);
    sig.vectors = await embedTexts(texts, source, opts.cacheDir, progress('embedding'));
  }
  if (opts.scorerUrl) {
    const model = opts.scorerModel ?? cfg.router.scorer.servedModelName ?? MODEL_CATALOG[cfg.router.scorer.model].servedName;
    log(`scorer: ${model} at ${opts.scorerUrl}`);
    sig.ratings = await rateTexts(texts, { url: opts.scorerUrl, model, timeoutMs: Math.max(r.scorerTimeoutMs, 5000) }, opts.cacheDir, progress('rating'));
  }
  log(`signals ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  log(`routing data: ${path.relative(repoRoot, dataFile) || dataFile} (${data.simple.length} simple, ${data.complex.length} complex exemplars${data.model ? `, learned model over ${data.model.features.length} features` : ', centroid logistic'})`);
  log(`config: env ${cfg.envName}, threshold ${r.threshold}, weights ${r.embeddingWeight}/${r.ratingWeight}, keywordPolicy ${r.keywordPolicy}, fastPathMargin ${r.fastPathMargin}`);

  const proxy = proxyScores(sig, geometryData?.centroids, policy, 1);
  if (!labelled) {
    await audit(sig, proxy, geometryData, policy, opts.thresholds);
    return 0;
  }

  const labels: Labels = { small: items.map((i) => i.small), large: items.map((i) => i.large) };
  const groups = items.map((i) => i.group);
  const t = targets(labels);
  log();
  log(`${items.length} labelled prompts in ${new Set(groups).size} groups; quality: all-small ${t.small.toFixed(3)}, all-large ${t.large.toFixed(3)}, gap ${(t.large - t.small).toFixed(3)}`);
  const boot = (scores: ArrayLike<number>) =>
    opts.bootstrap > 0 ? apgrInterval(scores, labels, { iters: opts.bootstrap, groups: opts.bootstrapBy === 'group' ? groups : undefined }) : undefined;
  const rows: Row[] = [];
  const add = (name: string, how: Row['how'], scores: ArrayLike<number>) => {
    rows.push({ name, how, figures: figures(scores, labels), interval: boot(scores), scores });
  };
  rows.push({ name: 'all-small', how: 'baseline', figures: { apgr: 0, share50: undefined, share80: undefined, share95Large: t.small >= t.large95 ? 0 : undefined } });
  rows.push({ name: 'all-large', how: 'baseline', figures: { apgr: 1, share50: 1, share80: 1, share95Large: 1 } });
  rows.push({ name: 'random (mean of 10)', how: 'baseline', figures: randomFigures(labels) });
  rows.push({ name: 'oracle', how: 'baseline', figures: oracleFigures(labels) });
  add('prompt length', 'baseline', texts.map((s) => s.length));
  const trainedOnThisSet = data.model?.trainedWith?.set === path.basename(opts.set);
  const proxyName = `proxy (${data.model ? 'learned model' : 'centroid'}${sig.ratings ? ' + rating' : ''})`;
  if (!proxy.some(Number.isNaN)) add(proxyName, trainedOnThisSet ? 'in-dist' : 'fixed', proxy);
  else log(`  ${proxyName}: skipped (no embedding source and no scorer: nothing scores the prompts)`);

  const x = featureMatrix(sig, geometry);
  const names = featureNames(!!geometry);
  const textCols = names.map((_, i) => i).filter((i) => names[i] !== 'centroid_z');
  const allCols = names.map((_, i) => i);
  const columnSets: Record<string, readonly number[]> = geometry ? { text: textCols, 'text+centroid': allCols } : { text: textCols };
  const learners: Record<string, () => Learner<unknown> | undefined> = {
    'text-logistic': () => logisticLearner(x, labels, { text: textCols }),
    logistic: () => logisticLearner(x, labels, columnSets),
    'centroid-data': () => (sig.vectors ? dataCentroidLearner(sig.vectors, labels) : undefined),
    knn: () => (sig.vectors ? knnLearner(sig.vectors, labels) : undefined),
  };
  const heldOut: Record<string, Float64Array> = {};
  for (const name of opts.routers) {
    const learner = learners[name]();
    if (!learner) {
      log(`  ${name}: skipped (needs an embedding source)`);
      continue;
    }
    const tl = performance.now();
    const tty = process.stderr.isTTY === true;
    const ho = nestedLeaveGroupOut(groups, labels, learner, { outerFolds: opts.folds, onFold: (i, n) => tty && process.stderr.write(`  ${name}: fold ${i}/${n}\r`) });
    if (tty) process.stderr.write('\n');
    heldOut[name] = ho.scores;
    add(name, 'held-out', ho.scores);
    // In distribution: fitted and scored on every prompt (kNN would find each prompt itself, so it has none).
    if (name !== 'knn') {
      const all = Int32Array.from(items.keys());
      add(name, 'in-dist', learner.fit(all, ho.chosen[Math.floor(ho.chosen.length / 2)])(all));
    }
    log(`  ${name}: ${((performance.now() - tl) / 1000).toFixed(1)} s; chosen per fold: ${summarize(ho.chosen.map(describe))}`);
  }
  log();
  log(table(rows));
  log('  APGR as RouteLLM computes it (10 quantile bins, trapezoid); shares for 50%/80% of the gap and 95% of the');
  log('  large tier\'s quality on the full-resolution curve; held-out = nested leave-group-out (hyper-parameters');
  log(`  chosen inside the training groups); intervals: ${opts.bootstrap} bootstrap resamples of ${opts.bootstrapBy === 'group' ? 'groups' : 'prompts'}.`);

  if (!proxy.some(Number.isNaN)) await calibrate(sig, proxy, labels, geometryData, policy, opts);

  const chart = writeChart(curveChart(rows, labels, `Quality vs share to the large tier: ${path.basename(opts.set)} (${items.length} prompts)`), opts.chart);
  log();
  log(`chart: ${chart.svg}, ${chart.png}`);

  if (opts.emit) {
    if (!geometry || !source) {
      process.stderr.write('route-eval: --emit needs an embedding source (--embeddings or --local-embedder)\n');
      return 2;
    }
    // Regularization and column set are chosen by grouped cross-validation over the whole set, as
    // each held-out fold chose them over its training groups.
    const all = Int32Array.from(items.keys());
    const learner = logisticLearner(x, labels, columnSets);
    const choice = chooseInner(all, groups, labels, learner, 4, 7);
    const cols = selectCols(x, choice.cols);
    const m = spreadLikePercentiles(fitLogistic(cols, gainTarget(labels), choice.lambda), cols);
    const held = rows.find((row) => row.name === 'logistic' && row.how === 'held-out');
    const spec = toModelSpec(m, choice.cols.map((c) => names[c]), {
      set: path.basename(opts.set),
      prompts: items.length,
      embeddingModel: source.kind === 'local' ? source.embedder.id : source.model,
      lambda: choice.lambda,
      ...(held ? { heldOutApgr: Number(held.figures.apgr.toFixed(3)), heldOutInterval: held.interval && [Number(held.interval.lo.toFixed(3)), Number(held.interval.hi.toFixed(3))] } : {}),
    });
    writeFileSync(opts.emit, `${JSON.stringify({ simple: data.simple, complex: data.complex, model: spec }, null, 2)}\n`);
    const check = figures(predictLogit(m, cols), labels).apgr;
    log(`routing data written to ${opts.emit} (in-dist APGR ${check.toFixed(3)}; use the held-out figure above)`);
  }
  if (opts.json) {
    writeFileSync(opts.json, `${JSON.stringify({ set: opts.set, prompts: items.length, rows: rows.map(({ scores: _s, ...rest }) => rest) }, null, 2)}\n`);
  }
  return 0;
}

function describe(h: unknown): string {
  if (h && typeof h === 'object' && 'lambda' in h) {
    const c = h as LogisticChoice;
    return `${c.features} lambda=${c.lambda}`;
  }
  return String(h);
}

function summarize(xs: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of xs) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort().map(([v, c]) => `${v} x${c}`).join(', ');
}

/** The routing data file the config names, else the one shipped with the proxy. */
function configuredRoutingData(cfg: EnvConfig, repoRoot: string): string {
  const f = (cfg.routing as { exemplarsFile?: string }).exemplarsFile;
  return f ? path.resolve(repoRoot, f) : DEFAULT_EXEMPLARS_FILE;
}

function embeddingSource(opts: Options, cfg: EnvConfig): EmbeddingSource | undefined {
  if (opts.localEmbedder) {
    return { kind: 'local', embedder: opts.localEmbedder === 'use' ? universalSentenceEncoder() : hashingEmbedder(256), queryPrefix: opts.queryPrefix ?? '' };
  }
  if (!opts.embeddingsUrl) return undefined;
  const spec = MODEL_CATALOG[cfg.router.embedding.model];
  return {
    kind: 'endpoint',
    url: opts.embeddingsUrl,
    model: opts.embeddingsModel ?? cfg.router.embedding.servedModelName ?? spec.servedName,
    queryPrefix: opts.queryPrefix ?? spec.queryPrefix ?? '',
    batchSize: 32,
    timeoutMs: Math.max(cfg.routing.embeddingTimeoutMs, 10_000),
  };
}

/** Prints the boundary for the target share and for the quality floor, as `-c` overrides. */
async function calibrate(sig: Signals, scores: Float64Array, labels: Labels, geometry: Geometry | undefined, policy: DecisionPolicy, opts: Options): Promise<void> {
  const t = targets(labels);
  const curve = fullCurve(scores, labels);
  const at = async (threshold: number) => {
    const tiers = await proxyTiers(sig, geometry?.centroids, { ...policy, boundaries: [threshold] }, 1);
    let large = 0;
    let q = 0;
    tiers.forEach((tier, i) => {
      if (tier > 0) large++;
      q += tier > 0 ? labels.large[i] : labels.small[i];
    });
    return { share: large / tiers.length, quality: q / tiers.length };
  };
  log();
  log('calibration (boundaries in [0, 1]; the share and quality are the proxy\'s decisions, fast path and keyword force included):');
  const show = async (what: string, threshold: number) => {
    const d = await at(threshold);
    log(`  ${what.padEnd(44)} -c routing.threshold=${threshold.toFixed(3)}   share to large ${(100 * d.share).toFixed(1)}%, quality ${d.quality.toFixed(3)} (${((100 * (d.quality - t.small)) / (t.large - t.small)).toFixed(0)}% of the gap)`);
  };
  await show('configured', policy.boundaries[0]);
  const floorTarget = opts.qualityFloor * t.large;
  const share = shareForQuality(curve, floorTarget);
  const point = share === undefined ? undefined : curve.find((p) => p.share >= share - 1e-12);
  if (point && Number.isFinite(point.threshold)) await show(`quality >= ${opts.qualityFloor} x large (${floorTarget.toFixed(3)})`, clampThreshold(point.threshold));
  else log(`  quality >= ${opts.qualityFloor} x large: not reachable with this router`);
  if (opts.targetShare !== undefined) {
    const sorted = Array.from(scores).sort((a, b) => b - a);
    const k = Math.max(0, Math.min(sorted.length - 1, Math.round(opts.targetShare * sorted.length) - 1));
    await show(`share to large ${opts.targetShare}`, clampThreshold(opts.targetShare === 0 ? 1 : sorted[k]));
  }
}

function clampThreshold(v: number): number {
  return Math.min(1, Math.max(0, v === FORCED_SCORE ? 1 : v));
}

/** Unlabelled traffic: score distribution and the share per tier at candidate thresholds. */
async function audit(sig: Signals, scores: Float64Array, geometry: Geometry | undefined, policy: DecisionPolicy, thresholds: readonly number[]): Promise<void> {
  const forced = Array.from(scores).filter((s) => s === FORCED_SCORE).length;
  log();
  log(`${scores.length} unlabelled prompts: audit`);
  log(`score distribution (the proxy's score before the fast path; ${forced} forced to the large tier by the math/code heuristic):`);
  log(histogram(scores));
  log();
  log('threshold   share small   share large   (the proxy\'s decisions: fast path and keyword force included)');
  for (const th of thresholds) {
    const tiers = await proxyTiers(sig, geometry?.centroids, { ...policy, boundaries: [th] }, 1);
    const large = tiers.reduce((a, tier) => a + (tier > 0 ? 1 : 0), 0) / tiers.length;
    log(`  ${th.toFixed(2).padEnd(9)} ${(100 * (1 - large)).toFixed(1).padStart(10)}% ${(100 * large).toFixed(1).padStart(12)}%${th === policy.boundaries[0] ? '   (configured)' : ''}`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`route-eval: ${e.message}\n`);
      process.exit(1);
    },
  );
}
