import * as fs from 'fs';
import * as path from 'path';
import { loadEnvConfig } from '../../lib/config/load';
import { ConfigError } from '../../contracts/validation';
import type { EnvConfig } from '../../lib/config/schema';

/**
 * The context of the repository's cdk.json, plus `aws:cdk:bundling-stacks: []`, which the CLI also
 * sets for stacks it does not deploy: apps built from it skip bundling the pre-warm Lambda with
 * esbuild (seconds per synth, and esbuild's own output). test/ops/prewarm.test.ts bundles it.
 */
export function cdkContext(): Record<string, unknown> {
  const file = path.join(__dirname, '..', '..', 'cdk.json');
  return { ...(JSON.parse(fs.readFileSync(file, 'utf8')) as { context: Record<string, unknown> }).context, 'aws:cdk:bundling-stacks': [] };
}

/** Loads an environment from cdk.json plus `-c`-style overrides. */
export function load(overrides: Record<string, unknown> = {}): EnvConfig {
  return loadEnvConfig({ ...cdkContext(), ...overrides });
}

/** The problem lines a configuration produces (fails the test when it is valid). */
export function problems(overrides: Record<string, unknown>): string[] {
  try {
    load(overrides);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(overrides)} to be rejected`);
}
