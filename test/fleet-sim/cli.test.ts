import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { main, parseCli } from '../../tools/fleet-sim/cli';
import { legacyTemplate } from './legacy-template';
import { synth, SYNTH_TIMEOUT_MS } from './helpers';

let dir: string;
let devTemplate: string;
let legacyDevTemplate: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'fleet-sim-cli-'));
  devTemplate = path.join(dir, 'dev.json');
  legacyDevTemplate = path.join(dir, 'dev-legacy.json');
  const template = synth({ env: 'dev' }).template;
  writeFileSync(devTemplate, JSON.stringify(template));
  writeFileSync(legacyDevTemplate, JSON.stringify(legacyTemplate(template)));
}, SYNTH_TIMEOUT_MS);

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = main(args, (t) => { out += t; }, (t) => { err += t; });
  return { code, out, err };
}

describe('npm run fleet-sim', () => {
  it('synthesizes the environment the -c flags select and prints the summary as JSON', () => {
    const r = cli(['-c', 'env=dev', '-c', 'tiers.large.maxCapacity=2', '--hours', '2', '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.environment).toBe('dev');
    expect(summary.fleets.map((f: { fleet: string; maxSize: number }) => [f.fleet, f.maxSize])).toEqual([['router', 1], ['small', 1], ['large', 2]]);
    expect(summary.hours).toBe(2);
    expect(summary.allLarge.usd).toBeGreaterThan(0);
  }, SYNTH_TIMEOUT_MS);

  it('prints a table with cost, churn, waits and lost requests per fleet, and the all-large comparison', () => {
    const r = cli(['--template', devTemplate, '--trace', 'burst', '--hours', '3', '--shares', 'small=0.5,large=0.5', '--rate', '0.5']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^fleet\s+instance\s+min-max\s+boot\s+inst-h\s+USD\s+peak\s+launch\s+churn\s+requests\s+served\s+held\s+refused\s+dropped\s+wait p50\/p95\/p99$/m);
    expect(r.out).toMatch(/^large\s+g6e\.4xlarge\s+0-1\s/m);
    expect(r.out).toMatch(/All-large fleet for the same traffic: [\d.,]+ instance-hours, [\d.,]+ USD/);
    expect(r.out).toContain('tier shares small 50.0%, large 50.0%');
  });

  it('writes summary.json, timeline.csv and the chart as SVG and PNG with --out', () => {
    const out = path.join(dir, 'run');
    const r = cli(['--template', devTemplate, '--hours', '2', '--out', out]);
    expect(r.code).toBe(0);
    for (const f of ['summary.json', 'timeline.csv', 'fleet-sim.svg', 'fleet-sim.png']) expect(existsSync(path.join(out, f))).toBe(true);
    const csv = readFileSync(path.join(out, 'timeline.csv'), 'utf8').trim().split('\n');
    expect(csv[0].split(',').slice(0, 3)).toEqual(['minute', 'router_desired', 'router_booting']);
    expect(csv).toHaveLength(1 + 120);
    expect(readFileSync(path.join(out, 'fleet-sim.svg'), 'utf8')).toContain('large (g6e.4xlarge, 0-1)');
    expect(readFileSync(path.join(out, 'fleet-sim.png')).subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('writes the chart alone to a path of the user\'s choosing with --chart', () => {
    const base = path.join(dir, 'docs', 'fleet-sim-dev-2h');
    const r = cli(['--template', devTemplate, '--hours', '2', '--chart', `${base}.svg`]);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`Wrote ${base}.svg, ${base}.png`);
    expect(readFileSync(`${base}.svg`, 'utf8')).toContain('large (g6e.4xlarge, 0-1)');
    expect(readFileSync(`${base}.png`).subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(existsSync(path.join(dir, 'docs', 'summary.json'))).toBe(false);
  });

  it('runs the scaling scenarios with --check and exits 1 when one fails', () => {
    const r = cli(['--template', legacyDevTemplate, '--check']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL  first request to large at zero starts an instance within the alarm window$/m);
    expect(r.out).toMatch(/^PASS  night traffic returns every fleet to its minimum$/m);
  });

  it('reports every bad argument at once, naming the flag and what it expects, with no stack trace', () => {
    const r = cli(['--hours', 'ten', '--tps', 'large=fast', '--rate', '1', '--load', '0.5', '-c', 'env']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--hours: got "ten", expected a number');
    expect(r.err).toContain('--tps: got "large=fast", expected tier=<single-stream tok/s>:<full-batch tok/s>');
    expect(r.err).toContain('--rate and --load: got both, expected one of them');
    expect(r.err).toContain('-c: got "env", expected key=value');
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(cli(['--frobnicate']).err).toMatch(/Unknown option '--frobnicate'/);
    expect(cli(['--template', devTemplate, '--trace', 'weekly']).err).toContain('--trace: got "weekly", expected one of steady, diurnal, burst, flash, night-to-zero or the path of a .csv file');
    expect(cli(['--template', devTemplate, '--boot', 'gpu=60']).err).toContain('--boot: got fleet "gpu", expected one of router, small, large');
    const deadline = cli(['--template', devTemplate, '--first-token-timeout-ms', '20.5', '--admit-wait', '1.5']).err;
    expect(deadline).toContain('--first-token-timeout-ms: got 20.5, expected whole milliseconds >= 1000');
    expect(deadline).toContain('--admit-wait: got 1.5, expected a share of the deadline in (0, 1]');
  });

  it('stops with the config error cdk synth would print for a bad -c value', () => {
    const r = cli(['-c', 'env=prod', '-c', 'tiers.large.maxCapacity=0']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/tiers\.large\.maxCapacity/);
  }, SYNTH_TIMEOUT_MS);

  it('parses repeated -c flags and the help flag', () => {
    expect(parseCli(['-c', 'env=prod', '--context', 'a.b=c=d']).context).toEqual({ env: 'prod', 'a.b': 'c=d' });
    expect(cli(['--help']).out).toMatch(/^usage: npm run fleet-sim/);
  });
});
