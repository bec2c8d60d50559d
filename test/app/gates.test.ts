import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp, environmentStackName } from '../../lib/app';
import { cdkContext, load } from '../config/helpers';

const ROOT = path.join(__dirname, '..', '..');
const environments = Object.keys((cdkContext() as { environments: Record<string, unknown> }).environments);

/** A fresh app with cdk.json's context (feature flags and CloudFormation validation on). */
function appFor(envName: string): App {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-gate-'));
  return new App({ outdir, context: { ...cdkContext(), env: envName } });
}

describe('synth gates for every environment in cdk.json', () => {
  test('cdk.json turns on CloudFormation validation against the default rules', () => {
    expect(cdkContext()['@aws-cdk/core:validateAgainstDefaultRules']).toBe(true);
    expect(cdkContext()['@aws-cdk/aws-autoscaling:generateLaunchTemplateInsteadOfLaunchConfig']).toBe(true);
  });

  test.each(environments)('%s: cdk-nag AwsSolutions reports no unacknowledged finding', (envName) => {
    const app = appFor(envName);
    buildApp(app, load({ env: envName }), { nag: false });
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`);
    expect(findings).toEqual([]);
  });

  test.each(environments)('%s: app.synth() passes the nag plugin and CloudFormation schema validation', (envName) => {
    const app = appFor(envName);
    const built = buildApp(app, load({ env: envName }));
    const assembly = app.synth();
    expect(assembly.getStackByName(environmentStackName(envName)).template).toBeDefined();
    expect(built.environment.stackName).toBe(environmentStackName(envName));
  });

  test('the nag gate fails the synth on an unacknowledged finding', () => {
    const app = appFor('dev');
    const built = buildApp(app, load({ env: 'dev' }));
    new s3.Bucket(built.environment, 'UnloggedBucket');
    expect(() => app.synth()).toThrow(/AwsSolutions-S1'/);
  });

  test('every resource carries the Project and Environment tags', () => {
    const app = appFor('prod');
    const built = buildApp(app, load({ env: 'prod' }), { nag: false });
    const template = Template.fromStack(built.environment);
    const tagged = Object.values(template.toJSON().Resources as Record<string, { Type: string; Properties?: { Tags?: unknown } }>)
      .filter((r) => r.Type === 'AWS::EC2::VPC');
    expect(tagged.length).toBe(1);
    expect(tagged[0].Properties?.Tags).toEqual(expect.arrayContaining([
      { Key: 'Project', Value: 'llm-tier-router' },
      { Key: 'Environment', Value: 'prod' },
      { Key: 'CostCenter', Value: 'ml-platform' },
    ]));
  });

  test('the VPC spans the configured AZs without an account lookup', () => {
    const app = appFor('prod');
    const built = buildApp(app, load({ env: 'prod' }), { nag: false });
    const template = Template.fromStack(built.environment);
    template.resourceCountIs('AWS::EC2::NatGateway', 3);
    template.hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: 'us-east-1c' });
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
  });
});

describe('cdk synth from the command line', () => {
  test('a bad value stops cdk synth with the problem lines, a non-zero exit and no stack trace', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cli-'));
    const run = spawnSync('npx', ['cdk', 'synth', '-q', '-o', outdir, '-c', 'env=prod', '-c', 'routing.threshold=1.5', '-c', 'tiers.large.instanceType=g6e.4xlarg'], {
      cwd: ROOT, encoding: 'utf8', timeout: 120_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('routing.threshold: got 1.5, expected <= 1');
    expect(run.stderr).toContain('tiers.large.instanceType: got "g6e.4xlarg"');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('an unknown environment name lists the ones that exist', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cli-'));
    const run = spawnSync('npx', ['cdk', 'synth', '-q', '-o', outdir, '-c', 'env=qa'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('env: got "qa", expected one of dev, staging, prod');
  });
});

describe('unknown context keys and wrong shapes stop the app', () => {
  /** The problem lines of a run: the indented lines after "invalid configuration:". */
  const problemLines = (stderr: string) => stderr.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim());

  test('bin/app.ts with -c context as the CLI passes it (CDK_CONTEXT_JSON): one line per mistake, exit 1, no stack trace', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-app-'));
    const context = {
      ...cdkContext(),
      regoin: 'eu-west-1',
      logRetentionDay: '14',
      envv: 'prod',
      foo: 'bar',
      'tiers.small': 'big',
      'routing.keywords': '',
    };
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^invalid configuration:\n/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const lines = problemLines(run.stderr);
    expect(lines).toHaveLength(6);
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/^regoin: got an unknown context key, .* \(did you mean "region"\?\)$/),
      expect.stringMatching(/^logRetentionDay: got an unknown context key, .* \(did you mean "logRetentionDays"\?\)$/),
      expect.stringMatching(/^envv: got an unknown context key, .* \(did you mean "env"\?\)$/),
      expect.stringMatching(/^foo: got an unknown context key, expected env, environments, a config key \(account, region, .*\) or a CDK key/),
      'tiers.small: got "big", expected a setting under the tier, such as tiers.small.maxCapacity=2',
      expect.stringMatching(/^routing\.keywords: got an empty value, expected a comma-separated list of words/),
    ]));
  });

  test('cdk synth -c foo=bar: the keys the CLI adds pass, the unknown one stops the synth', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cli-'));
    const run = spawnSync('npx', ['cdk', 'synth', '-q', '-o', outdir, '-c', 'foo=bar'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(run.status).not.toBe(0);
    expect(problemLines(run.stderr).filter((l) => l.includes(': got '))).toEqual([expect.stringMatching(/^foo: got an unknown context key/)]);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
