import { spawnSync } from 'child_process';
import * as path from 'path';
import { formatPlan, planEnvironment } from '../lib/plan';
import { parseContextArgs } from '../tools/plan';
import { load } from './config/helpers';

const ROOT = path.join(__dirname, '..');

describe('planEnvironment (prod)', () => {
  const plan = planEnvironment(load({ env: 'prod' }));

  test('one entry per fleet, the router with its two servers', () => {
    expect(plan.fleets.map((f) => f.fleet.name)).toEqual(['router', 'small', 'large']);
    expect(plan.fleets[0].servers.map((s) => s.role)).toEqual(['scorer', 'embedding']);
  });

  test('fleet costs at min and max capacity, computed by hand', () => {
    const [router, small, large] = plan.fleets;
    expect(router.cost.usdPerMonthMin).toBeCloseTo(2 * 1.861 * 730, 6);
    expect(small.cost.usdPerMonthMax).toBeCloseTo(8 * 1.861 * 730, 6);
    expect(large.cost.usdPerHourMax).toBeCloseTo(4 * 3.00424, 9);
    expect(plan.totalUsdPerHourMin).toBeCloseTo(2 * 1.861 + 2 * 1.861 + 3.00424, 9);
    expect(plan.totalUsdPerMonthMax).toBeCloseTo((4 * 1.861 + 8 * 1.861 + 4 * 3.00424) * 730, 6);
  });

  test('the large tier makes its small KV capacity visible', () => {
    const large = plan.fleets[2].servers[0];
    expect(large.fit.fullLengthSequences).toBe(2);
    expect(plan.notes.join('\n')).toMatch(/large\/generate: the KV cache holds 22,\d{3} tokens, only 2 full 8192-token sequence\(s\) at once/);
  });

  test('workload comparison: $28,000 all-large against $9,634.12 routed', () => {
    expect(plan.comparison.allLarge.totalUsd).toBeCloseTo(28_000, 6);
    expect(plan.comparison.routed.totalUsd).toBeCloseTo(9_634.12, 6);
  });

  test('the printed plan carries the table columns and totals', () => {
    const text = formatPlan(plan);
    expect(text).toContain('Plan for environment "prod"');
    expect(text).toMatch(/fleet +server +instance +GPUs +weights GiB +KV tokens +full-length seqs +\$\/h each +instances +\$\/month min +\$\/month max/);
    expect(text).toMatch(/large +generate: llama-3\.1-70b-instruct awq-int4 +g6e\.4xlarge +1\/1 +37\.0 +22,\d{3} \(fp8\) +2 x 8192 +\$3\.00424 +1-4 +\$2,193\.10 +\$8,772\.38/);
    expect(text).toContain('Every request on the large tier: $28,000.00/month. Routed: $9,634.12/month. Saving: 65.6%.');
  });
});

describe('plan command line', () => {
  test('parses -c and --context flags', () => {
    expect(parseContextArgs(['-c', 'env=prod', '--context', 'routing.threshold=0.7', '--context=a.b=c=d'])).toEqual({
      'env': 'prod', 'routing.threshold': '0.7', 'a.b': 'c=d',
    });
    expect(() => parseContextArgs(['--bogus'])).toThrow(/--bogus: got an unknown argument, expected -c key=value/);
  });

  test('a bad value exits non-zero with the problem lines and no stack trace', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/plan.ts', '-c', 'env=prod', '-c', 'tiers.large.weightFormat=fp8', '-c', 'routing.threshold=7'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('routing.threshold: got 7, expected <= 1');
    expect(run.stderr).toMatch(/tiers\.large: got llama-3\.1-70b-instruct fp8 on g6e\.4xlarge/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('prints the plan for an environment with overrides', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/plan.ts', '-c', 'env=prod', '-c', 'tiers.large.maxCapacity=6'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/large .* 1-6 /);
  });
});

describe('a plan whose routing costs more than it saves (dev)', () => {
  const plan = planEnvironment(load({ env: 'dev' }));
  const text = formatPlan(plan);

  test('says why: the router fleet is paid whatever the traffic, against the all-large token cost', () => {
    expect(plan.comparison.savingsFraction).toBeLessThan(0);
    expect(text).toContain('Saving: -404.1%.');
    expect(text).toContain(
      'Routing costs more than it saves at 100,000 requests/month: the router fleet at its min capacity ($1,358.53) is paid per month whatever the traffic, ' +
        'while sending every request to the large tier costs $280.00/month.',
    );
  });

  test('names the volume from which routing pays, and that volume does break even', () => {
    // Router $1,358.53 / (large $0.0028 - routed $0.0005305 per request) = 598,604 requests.
    expect(plan.breakEvenRequestsPerMonth).toBe(598_604);
    expect(text).toContain('Routing breaks even from about 598,604 requests/month (at 500 output tokens each, 15.0% to the large tier).');
    const at = (n: number) => planEnvironment(load({ env: 'dev', 'workload.requestsPerMonth': String(n) })).comparison.savingsFraction;
    expect(at(598_604)).toBeGreaterThanOrEqual(0);
    expect(at(598_000)).toBeLessThan(0);
  });

  test('with tier floors the break-even point accounts for them too (staging)', () => {
    const staging = planEnvironment(load({ env: 'staging' }));
    expect(formatPlan(staging)).toContain("the router fleet at its min capacity ($1,358.53) and the tiers' min-capacity floors ($1,358.53) are paid per month");
    const be = staging.breakEvenRequestsPerMonth!;
    const at = (n: number) => planEnvironment(load({ env: 'staging', 'workload.requestsPerMonth': String(n) })).comparison.savingsFraction;
    expect(at(be)).toBeGreaterThanOrEqual(0);
    expect(at(Math.floor(be * 0.999))).toBeLessThan(0);
  });

  test('when the small tier is no cheaper per token, it says routing never breaks even', () => {
    const large = load({ env: 'dev' }).tiers[1].pricePer1kOutputTokensUsd;
    const same = planEnvironment(load({ env: 'dev', 'tiers.small.pricePer1kOutputTokensUsd': String(large) }));
    expect(same.breakEvenRequestsPerMonth).toBeUndefined();
    expect(formatPlan(same)).toContain("Routing never breaks even with these prices: the small tier's price per output token is not below the large tier's.");
  });

  test('a plan that saves prints no such explanation (prod)', () => {
    expect(formatPlan(planEnvironment(load({ env: 'prod' })))).not.toContain('Routing costs more than it saves');
  });
});
