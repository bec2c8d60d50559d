/**
 * Synthesizes one environment in-process, as `cdk synth -c env=<name> [-c key=value ...]` would:
 * the CDK CLI passes `cdk.json`'s context (plus `cdk.context.json`), then the `-c` flags on top, to
 * the app, and bin/app.ts builds the stacks from `app.node.getAllContext()`. The environment stack's
 * template is read from the cloud assembly.
 *
 * Three things differ from the CLI, none of which changes a scaling resource: cdk-nag is off, asset
 * bundling is skipped (the `aws:cdk:bundling-stacks` context the CLI fills is left empty) and the
 * built-in CloudFormation schema validation is off (`CDK_VALIDATION=false`); together they take a
 * synth from ~20 s to ~2 s here.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../lib/app';
import { loadEnvConfig } from '../../lib/config/load';
import type { EnvConfig } from '../../lib/config/schema';
import type { CfnTemplate } from './cfn';

/** The repository root (where cdk.json lives). */
export const PROJECT_DIR = path.join(__dirname, '..', '..');

/** One synthesized environment. */
export interface SynthesizedEnvironment {
  readonly envName: string;
  readonly stackName: string;
  readonly template: CfnTemplate;
  /** The validated config: the simulator reads only the traffic assumptions (`workload`) from it. */
  readonly config: EnvConfig;
  readonly synthMs: number;
}

function readContextFile(file: string, key?: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return (key ? (json[key] as Record<string, unknown> | undefined) : json) ?? {};
}

/** The context the CLI would hand the app: cdk.json, cdk.context.json, then `-c` flags. */
export function cliContext(flags: Readonly<Record<string, string>>, projectDir = PROJECT_DIR): Record<string, unknown> {
  return {
    ...readContextFile(path.join(projectDir, 'cdk.json'), 'context'),
    ...readContextFile(path.join(projectDir, 'cdk.context.json')),
    ...flags,
  };
}

/** Synthesizes the environment the flags select; throws ConfigError on a bad config, as `cdk synth` exits. */
export function synthesizeEnvironment(flags: Readonly<Record<string, string>>, projectDir = PROJECT_DIR): SynthesizedEnvironment {
  const started = Date.now();
  const context = {
    ...cliContext(flags, projectDir),
    'aws:cdk:bundling-stacks': [],
    '@aws-cdk/core:annotationsInValidationReport': false,
  };
  const outdir = mkdtempSync(path.join(tmpdir(), 'fleet-sim-'));
  const saved = { validation: process.env.CDK_VALIDATION, deprecated: process.env.JSII_DEPRECATED, cwd: process.cwd() };
  process.env.CDK_VALIDATION = 'false';
  process.env.JSII_DEPRECATED = 'quiet';
  // The CLI runs the app in the project directory; constructs find their lock file and assets from it.
  process.chdir(projectDir);
  try {
    const app = new App({ context, outdir });
    const config = loadEnvConfig(app.node.getAllContext());
    const built = buildApp(app, config, { nag: false });
    const assembly = app.synth();
    const template = assembly.getStackByName(built.environment.stackName).template as CfnTemplate;
    return { envName: config.envName, stackName: built.environment.stackName, template, config, synthMs: Date.now() - started };
  } finally {
    process.chdir(saved.cwd);
    restore('CDK_VALIDATION', saved.validation);
    restore('JSII_DEPRECATED', saved.deprecated);
    rmSync(outdir, { recursive: true, force: true });
  }
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
