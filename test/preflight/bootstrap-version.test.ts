import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { probeBootstrapVersion } from '../../tools/preflight/checks/bootstrap';
import { execRunner } from '../../tools/preflight/context';
import { cliContext } from '../../tools/plan';

const ROOT = path.join(__dirname, '..', '..');

describe('required bootstrap version', () => {
  it('is the version the installed aws-cdk-lib writes into a synthesized stack', async () => {
    const version = await probeBootstrapVersion(execRunner, ROOT, cliContext([]));
    // Cross-check against the constant in the installed synthesizer's source.
    const source = readFileSync(path.join(ROOT, 'node_modules', 'aws-cdk-lib', 'core', 'lib', 'stack-synthesizers', 'default-synthesizer.js'), 'utf8');
    const constant = Number(/MIN_BOOTSTRAP_STACK_VERSION\s*=\s*(\d+)/.exec(source)?.[1]);
    expect(Number.isInteger(constant)).toBe(true);
    expect(version).toBe(constant);
  });

  it('reports a probe that cannot run as an error, not a number', async () => {
    const broken = async () => ({ code: 1, stdout: '', stderr: "Error: Cannot find module 'aws-cdk-lib'\n" });
    await expect(probeBootstrapVersion(broken, ROOT, {})).rejects.toThrow(/could not read the required bootstrap version from aws-cdk-lib \(exit 1: Error: Cannot find module 'aws-cdk-lib'\)/);
  });
});
