/**
 * `npm run fleet-sim -- -c env=prod [-c key=value ...] [--trace diurnal] [--hours 24] [--out dir]`:
 * synthesizes the environment as `cdk synth` would, replays traffic against its scaling policies and
 * alarms, and prints per-fleet cost, churn, waits and lost requests. `--check` runs the scaling
 * scenarios instead and exits 1 when one fails.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { ConfigError } from '../../contracts/validation';
import { writeChart } from '../charts/render';
import { chartSize, runChart } from './chart';
import type { SimOutcome } from './engine';
import { readSimModel, SimModel } from './model';
import { formatSummary, RunSummary, summarize } from './report';
import { runSimulation, RunSettings, WorkloadDefaults } from './run';
import { runScenarios } from './scenarios';
import { synthesizeEnvironment } from './synth';
import { TRACE_SHAPES } from './traces';
import { DEFAULTS } from '../../lib/config/defaults';

const OPTIONS = 'fleet-sim options';

/** Usage text. */
export const USAGE = `usage: npm run fleet-sim -- [-c key=value ...] [options]

  -c, --context key=value  CDK context, as with cdk synth (env=prod, tiers.large.maxCapacity=6, ...)
  --template file.json     simulate this synthesized template instead of synthesizing one
  --trace name|file.csv    ${TRACE_SHAPES.join(', ')}, or a CSV (time,prompt_tokens,output_tokens[,tier]) [diurnal]
  --hours n                simulated hours [24; a CSV: its length]
  --rate r | --load f      peak requests/s, or peak as a share of the fleets' maximum rate [--load 0.8]
  --start iso --tz zone    start (local time in --tz, or with an offset) [Mon 2025-06-02 00:00, the schedules' zone]
  --large-share p          share of requests for the largest tier [the config's workload.largeShare]
  --shares a=p,b=q         share per tier; --score-beta a,b: routing scores ~ Beta(a, b) cut at the proxy's boundaries
  --output-tokens n        mean output tokens [the config's workload.outputTokensPerRequest]; --output-cv 0.8; --prompt-tokens 1000
  --stream-share p         share of streamed requests [1]
  --first-token-timeout-ms n  first-token deadline of a streamed request [the proxy document's dispatch.firstTokenTimeoutMs]
  --admit-wait f           refuse (503) a request whose estimated queue wait passes this share of its deadline [admit all]
  --boot fleet=s,...       boot seconds per fleet [estimated from the model's weights]
  --tps tier=single:full   output tokens/s of one sequence and of a full batch [catalog assumption]
  --event-at h --event-minutes m --base f   burst and flash: start, length and base load [run/4, 60, 0.3 or 0.2]
  --seed n                 random seed [1]
  --out dir                write summary.json, timeline.csv and fleet-sim.svg/.png there
  --chart path             write the chart alone to path.svg and path.png (e.g. docs/fleet-sim-prod-24h)
  --json                   print the summary as JSON instead of the table
  --check                  run the scaling scenarios; exit 1 if one fails
  --no-progress            no progress bar`;

/** Parses `a=1,b=2` into a record of numbers. */
function pairs(flag: string, text: string | undefined, parse: (v: string) => number | undefined, problems: string[]): Record<string, number> | undefined {
  if (text === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [k, v] = part.split('=');
    const n = v === undefined ? undefined : parse(v);
    if (!k || n === undefined || Number.isNaN(n)) problems.push(`${flag}: got "${part}", expected name=value`);
    else out[k.trim()] = n;
  }
  return out;
}

function number(flag: string, text: string | undefined, problems: string[]): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) {
    problems.push(`${flag}: got "${text}", expected a number`);
    return undefined;
  }
  return n;
}

/** What the command line asked for. */
export interface CliRequest {
  readonly context: Record<string, string>;
  readonly template?: string;
  readonly settings: RunSettings;
  readonly out?: string;
  /** Path without extension for the chart alone (`.svg` and `.png`). */
  readonly chart?: string;
  readonly json: boolean;
  readonly check: boolean;
  readonly progress: boolean;
  readonly help: boolean;
}

/** Parses the arguments; throws ConfigError listing every problem. */
export function parseCli(argv: readonly string[]): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: false,
      options: {
        context: { type: 'string', short: 'c', multiple: true },
        template: { type: 'string' }, trace: { type: 'string' }, hours: { type: 'string' }, rate: { type: 'string' }, load: { type: 'string' },
        start: { type: 'string' }, tz: { type: 'string' }, seed: { type: 'string' }, 'large-share': { type: 'string' }, shares: { type: 'string' },
        'score-beta': { type: 'string' }, 'output-tokens': { type: 'string' }, 'output-cv': { type: 'string' }, 'prompt-tokens': { type: 'string' },
        'stream-share': { type: 'string' }, 'first-token-timeout-ms': { type: 'string' }, 'admit-wait': { type: 'string' }, boot: { type: 'string' }, tps: { type: 'string' }, 'event-at': { type: 'string' },
        'event-minutes': { type: 'string' }, base: { type: 'string' }, out: { type: 'string' }, chart: { type: 'string' }, json: { type: 'boolean' },
        check: { type: 'boolean' }, 'no-progress': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new ConfigError([`${(e as Error).message.split('\n')[0]}; see --help`], OPTIONS);
  }
  const v = parsed.values;
  const problems: string[] = [];
  const context: Record<string, string> = {};
  for (const pair of v.context ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) problems.push(`-c: got "${pair}", expected key=value`);
    else context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  let scoreBeta: [number, number] | undefined;
  if (v['score-beta'] !== undefined) {
    const [a, b] = v['score-beta'].split(',').map(Number);
    if (!(a > 0 && b > 0)) problems.push(`--score-beta: got "${v['score-beta']}", expected two positive numbers a,b`);
    else scoreBeta = [a, b];
  }
  const tps: Record<string, { single: number; full: number }> = {};
  for (const part of v.tps?.split(',') ?? []) {
    const m = /^([^=]+)=([\d.]+):([\d.]+)$/.exec(part.trim());
    if (!m || !(Number(m[2]) > 0) || !(Number(m[3]) > 0)) problems.push(`--tps: got "${part}", expected tier=<single-stream tok/s>:<full-batch tok/s>`);
    else tps[m[1]] = { single: Number(m[2]), full: Number(m[3]) };
  }
  const settings: RunSettings = {
    trace: v.trace,
    hours: number('--hours', v.hours, problems),
    rate: number('--rate', v.rate, problems),
    load: number('--load', v.load, problems),
    start: v.start,
    timeZone: v.tz,
    seed: number('--seed', v.seed, problems),
    largeShare: number('--large-share', v['large-share'], problems),
    shares: pairs('--shares', v.shares, Number, problems),
    scoreBeta,
    outputTokens: number('--output-tokens', v['output-tokens'], problems),
    outputCv: number('--output-cv', v['output-cv'], problems),
    promptTokens: number('--prompt-tokens', v['prompt-tokens'], problems),
    streamShare: number('--stream-share', v['stream-share'], problems),
    firstTokenTimeoutMs: number('--first-token-timeout-ms', v['first-token-timeout-ms'], problems),
    admissionWaitShare: number('--admit-wait', v['admit-wait'], problems),
    boot: pairs('--boot', v.boot, Number, problems),
    tps: v.tps === undefined ? undefined : tps,
    eventAtHours: number('--event-at', v['event-at'], problems),
    eventMinutes: number('--event-minutes', v['event-minutes'], problems),
    baseFraction: number('--base', v.base, problems),
  };
  if (settings.rate !== undefined && settings.load !== undefined) problems.push('--rate and --load: got both, expected one of them');
  if (v.template !== undefined && Object.keys(context).length > 0) problems.push('--template and -c: got both, expected context flags only when synthesizing');
  if (problems.length) throw new ConfigError(problems, OPTIONS);
  return {
    context, template: v.template, settings, out: v.out, chart: v.chart, json: v.json === true, check: v.check === true,
    progress: v['no-progress'] !== true, help: v.help === true,
  };
}

/** The model and workload defaults of the request: synthesized, or read from a template file. */
export function loadModel(req: CliRequest, log: (line: string) => void): { model: SimModel; workload: WorkloadDefaults; environment: string } {
  if (req.template) {
    let text: string;
    try {
      text = readFileSync(req.template, 'utf8');
    } catch (e) {
      throw new ConfigError([`--template: got "${req.template}", expected a readable template file (${(e as NodeJS.ErrnoException).code ?? 'read error'})`], OPTIONS);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ConfigError([`--template: got a file that is not JSON (${(e as Error).message}), expected a synthesized CloudFormation template`], OPTIONS);
    }
    // A template carries no traffic assumptions: the defaults' workload fills in.
    return { model: readSimModel(json), workload: DEFAULTS.workload, environment: path.basename(req.template, '.json') };
  }
  log(`Synthesizing ${req.context.env ?? 'the default environment'} (as cdk synth would)...`);
  const cpu = process.cpuUsage();
  const env = synthesizeEnvironment(req.context);
  const used = process.cpuUsage(cpu);
  log(`Synthesized ${env.stackName} in ${(env.synthMs / 1000).toFixed(1)} s (${((used.user + used.system) / 1e6).toFixed(1)} s CPU).`);
  return { model: readSimModel(env.template), workload: env.config.workload, environment: env.envName };
}

/** Writes summary.json, timeline.csv and the chart into `dir`; returns the paths. */
export function writeOutputs(dir: string, summary: RunSummary, outcome: SimOutcome): string[] {
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'summary.json');
  writeFileSync(json, `${JSON.stringify(summary, null, 2)}\n`);
  const csv = path.join(dir, 'timeline.csv');
  const fields = ['desired', 'booting', 'serving', 'draining', 'waiting', 'running', 'held', 'refused', 'dropped', 'arrivals'] as const;
  const header = ['minute', ...outcome.fleets.flatMap((f) => fields.map((x) => `${f.name}_${x}`))];
  const rows = [header.join(',')];
  for (let m = 0; m < outcome.arrivalsPerMinute.length; m++) {
    rows.push([m, ...outcome.fleets.flatMap((f) => fields.map((x) => Math.round(f.timeline[x][m] * 100) / 100))].join(','));
  }
  writeFileSync(csv, `${rows.join('\n')}\n`);
  const chart = writeChart(runChart(summary, outcome), path.join(dir, 'fleet-sim'), chartSize(outcome.fleets.length));
  return [json, csv, chart.svg, chart.png];
}

/** Seconds a run may take before a progress bar appears. */
const PROGRESS_AFTER_MS = 2000;

function progressBar(enabled: boolean, hours: number, label: string): { update: (f: number) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  // Most runs finish in a second or two: the bar appears only once a run has taken longer.
  const started = Date.now();
  let bar: SingleBar | undefined;
  return {
    update: (f) => {
      if (!bar && Date.now() - started > PROGRESS_AFTER_MS && f < 0.9) {
        bar = new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} simulated hours`, stream: process.stderr, hideCursor: true });
        bar.start(Math.round(hours), 0);
      }
      bar?.update(Math.round(f * hours));
    },
    stop: () => bar?.stop(),
  };
}

/** Runs the command; returns the exit code. */
export function main(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(t), err: (text: string) => void = (t) => process.stderr.write(t)): number {
  try {
    const req = parseCli(argv);
    if (req.help) {
      out(`${USAGE}\n`);
      return 0;
    }
    const log = (line: string) => (req.json ? undefined : err(`${line}\n`));
    const { model, workload, environment } = loadModel(req, log);
    if (req.check) {
      const results = runScenarios(model, workload, { seed: req.settings.seed, settings: req.settings });
      if (req.json) out(`${JSON.stringify(results.map(({ run, ...r }) => { void run; return r; }), null, 2)}\n`);
      else {
        for (const r of results) {
          out(`${r.pass ? (r.applicable ? 'PASS' : 'N/A ') : 'FAIL'}  ${r.name}\n      ${r.summary}\n`);
          for (const f of r.failures) out(`      - ${f}\n`);
        }
      }
      return results.every((r) => r.pass) ? 0 : 1;
    }
    const hours = req.settings.hours ?? 24;
    const bar = progressBar(req.progress, hours, `Simulating ${environment}`);
    const started = Date.now();
    const cpu = process.cpuUsage();
    const { prepared, outcome } = runSimulation(model, workload, { ...req.settings, onProgress: bar.update });
    bar.stop();
    const summary = summarize(model, prepared, outcome, environment);
    const used = process.cpuUsage(cpu);
    log(`Simulated ${summary.hours} h in ${((Date.now() - started) / 1000).toFixed(1)} s (${((used.user + used.system) / 1e6).toFixed(1)} s CPU).`);
    if (req.json) out(`${JSON.stringify(summary, null, 2)}\n`);
    else out(`${formatSummary(summary)}\n`);
    if (req.out) {
      const files = writeOutputs(req.out, summary, outcome);
      log(`Wrote ${files.join(', ')}`);
    }
    if (req.chart) {
      const base = req.chart.replace(/\.(svg|png)$/i, '');
      mkdirSync(path.dirname(path.resolve(base)), { recursive: true });
      const chart = writeChart(runChart(summary, outcome), base, chartSize(outcome.fleets.length));
      log(`Wrote ${chart.svg}, ${chart.png}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
