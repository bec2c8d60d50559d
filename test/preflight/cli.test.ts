import { ListCostAllocationTagsCommand } from '@aws-sdk/client-cost-explorer';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { main, Output } from '../../tools/preflight/cli';
import { PREFLIGHT_ACTIONS } from '../../tools/preflight/aws';
import { preflightPolicy } from '../../tools/preflight/policy';
import { formatTable, wrapCell } from '../../tools/preflight/report';
import { runPreflight } from '../../tools/preflight/run';
import { CERT_ARN, greenAccount, mocks, prodConfig, testDeps } from './fixture';

const ROOT = path.join(__dirname, '..', '..');

function capture(): Output & { out: string; err: string } {
  const sink = { out: '', err: '', stdout: (t: string) => { sink.out += t; }, stderr: (t: string) => { sink.err += t; } };
  return sink;
}

beforeEach(() => greenAccount());

describe('npm run preflight', () => {
  it('prints the table and a ready summary, and exits 0 on a ready account', async () => {
    const io = capture();
    const code = await main(['-c', 'env=prod', '-c', `proxy.certificateArn=${CERT_ARN}`], io, () => testDeps());
    expect(code).toBe(0);
    expect(io.out).toMatch(/│ check\s+│ status\s+│ detail\s+│ fix\s+│/);
    expect(io.out).toMatch(/│ AWS credentials\s+│ PASS/);
    expect(io.out).toMatch(/│ CDK bootstrap \(us-east-1\)\s+│ PASS/);
    expect(io.out.trimEnd().split('\n').pop()).toBe('preflight prod: 0 blockers, 0 warnings, 0 could not run, 10 passed, 1 skipped; ready for cdk deploy -c env=prod');
    expect(io.err).toBe('');
  });

  it('exits 1 on a blocker: prod as cdk.json ships it still names the example certificate', async () => {
    const io = capture();
    const code = await main(['-c', 'env=prod'], io, () => testDeps());
    expect(code).toBe(1);
    expect(io.out).toMatch(/│ TLS certificate\s+│ BLOCK/);
    expect(io.out).toContain('preflight prod: 1 blocker, 0 warnings');
    expect(io.out).toContain('fix the blockers before cdk deploy -c env=prod');
  });

  it('exits 0 when only warnings remain, and says to read them', async () => {
    mocks.ce.on(ListCostAllocationTagsCommand).resolves({ CostAllocationTags: [] });
    const io = capture();
    const code = await main(['-c', 'env=prod', '-c', `proxy.certificateArn=${CERT_ARN}`], io, () => testDeps());
    expect(code).toBe(0);
    expect(io.out).toMatch(/│ Cost-allocation tag\s+│ WARN/);
    expect(io.out).toContain('preflight prod: 0 blockers, 1 warning,');
    expect(io.out).toContain('ready for cdk deploy -c env=prod (read the warnings first)');
  });

  it('reports a bad context value like cdk synth, without a stack trace, and exits 1', async () => {
    const io = capture();
    const code = await main(['-c', 'env=prod', '-c', 'tiers.large.maxCapacity=lots'], io, () => testDeps());
    expect(code).toBe(1);
    expect(io.err).toContain('tiers.large.maxCapacity: got "lots"');
    expect(io.err).not.toMatch(/^\s+at /m);
    expect(io.out).toBe('');
    expect(mocks.sts.calls()).toHaveLength(0);
  });

  it('rejects an unknown argument', async () => {
    const io = capture();
    expect(await main(['--bogus'], io, () => testDeps())).toBe(1);
    expect(io.err).toContain('--bogus: got an unknown argument, expected -c key=value');
  });

  it('prints the read-only policy with --policy and calls no AWS API', async () => {
    const io = capture();
    expect(await main(['-c', 'env=prod', '--policy'], io, () => testDeps())).toBe(0);
    const policy = JSON.parse(io.out) as ReturnType<typeof preflightPolicy>;
    const actions = policy.Statement.flatMap((s) => s.Action);
    expect(actions.sort()).toEqual(PREFLIGHT_ACTIONS.filter((a) => a !== 'sts:GetCallerIdentity').sort());
    expect(policy.Statement.find((s) => s.Sid === 'DescribeNamedSecrets')?.Resource).toEqual(['arn:aws:secretsmanager:us-east-1:*:secret:llm-tier-router/hf-token-??????']);
    expect(mocks.sts.calls()).toHaveLength(0);
  });

  it('runs from the npm script with no credentials: a clear first row, exit 1, no stack trace', () => {
    const home = mkdtempSync(path.join(tmpdir(), 'preflight-home-'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      AWS_CONFIG_FILE: path.join(home, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      TMPDIR: process.env.TMPDIR,
    };
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/preflight/cli.ts', '-c', 'env=dev'], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(1);
    const firstRow = run.stdout.split('\n').find((l) => l.includes('AWS credentials'));
    expect(firstRow).toMatch(/│ AWS credentials\s+│ BLOCK\s+│ no usable credentials found/);
    expect(run.stdout).toMatch(/│ Account checks\s+│ SKIP/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stderr).not.toContain('NodeVersionSupportWarning');
  });
});

describe('the read-only policy', () => {
  it('allows every action a full run calls', async () => {
    const cfg = prodConfig({ 'proxy.apiKeysSecretName': 'prod/api-keys' });
    await runPreflight(cfg, testDeps());
    const prefix: Record<string, string> = {
      STSClient: 'sts', EC2Client: 'ec2', ServiceQuotasClient: 'servicequotas', SecretsManagerClient: 'secretsmanager',
      ACMClient: 'acm', CloudFormationClient: 'cloudformation', CostExplorerClient: 'ce',
    };
    const called = new Set<string>();
    for (const [key, stub] of Object.entries(mocks)) {
      for (const call of stub.calls() as readonly { args: readonly object[]; thisValue: object }[]) {
        called.add(`${prefix[call.thisValue.constructor.name] ?? key}:${call.args[0].constructor.name.replace(/Command$/, '')}`);
      }
    }
    const allowed = new Set(preflightPolicy(cfg).Statement.flatMap((s) => s.Action));
    const missing = [...called].filter((a) => a !== 'sts:GetCallerIdentity' && !allowed.has(a as never));
    expect(missing).toEqual([]);
    expect(called.size).toBeGreaterThanOrEqual(9);
  });
});

describe('the table', () => {
  it('wraps long cells inside the given width and keeps every word', () => {
    const detail = 'Running On-Demand G and VT instances: quota 64 vCPU (applied; AWS default 0); fleets need 112 at maxCapacity';
    const text = formatTable([{ check: 'vCPU quota L-DB2E81BA', status: 'BLOCK', detail, fix: 'aws service-quotas request-service-quota-increase --desired-value 112' }], 110);
    const lines = text.split('\n');
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[0].length).toBeLessThanOrEqual(110);
    const detailColumn = lines.slice(3, -1).map((l) => l.split('│')[3].trim()).join(' ');
    expect(detailColumn).toBe(detail);
  });

  it('cuts a word longer than its column instead of truncating it', () => {
    const fix = '-c network.availabilityZones=us-east-1a,us-east-1b,us-east-1d (zones offering every type)';
    const text = formatTable([{ check: 'g6e.4xlarge in AZs (large)', status: 'BLOCK', detail: 'not offered in us-east-1c', fix }], 100);
    expect(text).not.toContain('…');
    const fixColumn = text.split('\n').slice(3, -1).map((l) => l.split('│')[4].trim()).join('');
    expect(fixColumn.replace(/\s/g, '')).toBe(fix.replace(/\s/g, ''));
  });

  it('wraps words at spaces and keeps short words whole', () => {
    expect(wrapCell('aws service-quotas request-service-quota-increase --region us-east-1', 20)).toBe('aws service-quotas\nrequest-service-quot\na-increase --region\nus-east-1');
  });
});
