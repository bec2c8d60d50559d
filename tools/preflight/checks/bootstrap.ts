/**
 * The CDK bootstrap stack in every region a deploy writes to: `cdk deploy` uploads the templates and
 * the proxy image to its bucket and repository and deploys through its roles, and refuses a
 * bootstrap older than the version the synthesized stacks require.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AwsCallError } from '../aws';
import { CheckContext, CommandRunner, guarded } from '../context';
import { CheckResult, row } from '../result';
import { targetRegions } from './regions';

/** The bootstrap stack's default name (`cdk bootstrap --toolkit-stack-name` changes it). */
export const TOOLKIT_STACK_NAME = 'CDKToolkit';

/** Row name of the bootstrap check of one region. */
export function bootstrapCheckName(region: string): string {
  return `CDK bootstrap (${region})`;
}

// Synthesizes one empty stack with the installed aws-cdk-lib and the project's feature flags and
// prints the bootstrap version its cloud assembly requires, the same figure `cdk deploy` checks.
const PROBE = `
const fs = require('fs'), os = require('os'), path = require('path');
const { App, Stack, CfnWaitConditionHandle } = require('aws-cdk-lib');
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootstrap-probe-'));
try {
  const app = new App({ outdir, context: JSON.parse(process.argv[1]) });
  const stack = new Stack(app, 'BootstrapProbe');
  new CfnWaitConditionHandle(stack, 'Probe');
  const version = app.synth().getStackArtifact(stack.artifactId).requiresBootstrapStackVersion;
  process.stdout.write(JSON.stringify({ version }));
} finally {
  fs.rmSync(outdir, { recursive: true, force: true });
}`;

/**
 * The bootstrap version the installed aws-cdk-lib requires, read from the cloud assembly of a
 * one-stack synth in a child process (so it runs beside the AWS calls instead of blocking them).
 */
export async function probeBootstrapVersion(run: CommandRunner, repoRoot: string, cdkContext: Readonly<Record<string, unknown>>): Promise<number> {
  const flags = Object.fromEntries(Object.entries(cdkContext).filter(([key]) => key.startsWith('@')));
  const context = JSON.stringify({ ...flags, '@aws-cdk/core:validateAgainstDefaultRules': false });
  const out = await run(process.execPath, ['-e', PROBE, context], { timeoutMs: 60_000, cwd: repoRoot });
  if (out.code !== 0) {
    throw new Error(`could not read the required bootstrap version from aws-cdk-lib (${out.failure ?? `exit ${out.code}`}: ${out.stderr.trim().split('\n').pop() ?? ''})`);
  }
  const version = (JSON.parse(out.stdout) as { version?: unknown }).version;
  if (typeof version !== 'number') throw new Error(`aws-cdk-lib's cloud assembly names no bootstrap version (${out.stdout})`);
  return version;
}

const HEALTHY = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE']);

/** One row per target region. */
export async function checkBootstrap(ctx: CheckContext): Promise<CheckResult[]> {
  let required: number | undefined;
  let requiredError: string | undefined;
  try {
    required = await ctx.deps.requiredBootstrapVersion();
  } catch (err) {
    requiredError = err instanceof Error ? err.message : String(err);
  }
  const rows = await Promise.all(targetRegions(ctx.cfg).map(({ region, purpose }) => {
    const check = bootstrapCheckName(region);
    return guarded(check, async () => [await checkRegion(ctx, check, region, purpose, required, requiredError)]);
  }));
  return rows.flat();
}

async function checkRegion(ctx: CheckContext, check: string, region: string, purpose: string, required: number | undefined, requiredError: string | undefined): Promise<CheckResult> {
  const bootstrap = `npx cdk bootstrap aws://${ctx.account}/${region}`;
  const cfn = ctx.clients(region).cfn;
  let stack;
  try {
    stack = (await ctx.call('cloudformation:DescribeStacks', (abortSignal) => cfn.send(new DescribeStacksCommand({ StackName: TOOLKIT_STACK_NAME }), { abortSignal }))).Stacks?.[0];
  } catch (err) {
    if (err instanceof AwsCallError && err.code === 'ValidationError' && /does not exist/.test(err.message)) {
      stack = undefined;
    } else {
      throw err;
    }
  }
  if (!stack) {
    return row(check, 'BLOCK', `no ${TOOLKIT_STACK_NAME} stack in ${region} (${purpose})`, bootstrap);
  }
  const status = stack.StackStatus ?? 'UNKNOWN';
  if (status.endsWith('_IN_PROGRESS') && status !== 'REVIEW_IN_PROGRESS') {
    return row(check, 'WARN', `${TOOLKIT_STACK_NAME} is ${status}`, 'wait until it completes, then run preflight again');
  }
  if (!HEALTHY.has(status)) {
    return row(check, 'BLOCK', `${TOOLKIT_STACK_NAME} is ${status}`, `delete the stack (aws cloudformation delete-stack --region ${region} --stack-name ${TOOLKIT_STACK_NAME}; empty its bucket first), then ${bootstrap}`);
  }
  const output = stack.Outputs?.find((o) => o.OutputKey === 'BootstrapVersion')?.OutputValue;
  const version = output === undefined ? undefined : Number(output);
  if (version === undefined || Number.isNaN(version)) {
    return row(check, 'BLOCK', `${TOOLKIT_STACK_NAME} has no BootstrapVersion output (a legacy bootstrap)`, bootstrap);
  }
  if (required === undefined) {
    return row(check, 'UNKNOWN', `${TOOLKIT_STACK_NAME} v${version} ${status}; required version unknown: ${requiredError}`, 'run npm ci so aws-cdk-lib is installed, then run preflight again');
  }
  if (version < required) {
    return row(check, 'BLOCK', `${TOOLKIT_STACK_NAME} v${version}; this aws-cdk-lib requires v${required} or later`, `${bootstrap} (upgrades in place)`);
  }
  return row(check, 'PASS', `${TOOLKIT_STACK_NAME} v${version} ${status} (requires >= v${required}; ${purpose})`);
}
