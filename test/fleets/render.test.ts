import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MODEL_CATALOG, WEIGHT_FORMATS } from '../../lib/catalog/models';
import type { FleetSpec, VllmServerSpec } from '../../lib/config/fleets';
import {
  loadTemplates, renderFleetUserData, renderTemplate, shellQuote, shellWords, stripComments, TEMPLATE_FILES,
  USER_DATA_LIMIT_BYTES, USERDATA_DIR, vllmArgs,
} from '../../lib/userdata/render';
import { buildEnvironment } from './fixture';

const input = (fleet: FleetSpec) => ({
  fleet,
  region: 'eu-west-1',
  vllmImageTag: 'v0.11.0',
  huggingFaceTokenSecretName: 'team/hf-token',
  namespace: 'LlmTierRouter/test',
  autoScalingGroupName: `asg-${fleet.name}`,
  logGroupName: `/logs/${fleet.name}`,
  keepAliveSeconds: 400,
  healthWaitSeconds: 600,
  signal: { stackName: 'LlmTierRouter-test', logicalResourceId: `Fleets${fleet.name}GroupASG0123ABCD` },
});

describe('renderTemplate', () => {
  test('fills every placeholder', () => {
    expect(renderTemplate('t', 'a={{A}} b={{B_2}} a={{A}}', { A: '1', B_2: '2' })).toBe('a=1 b=2 a=1');
  });

  test('fails on a placeholder without a value, naming every one', () => {
    expect(() => renderTemplate('boot.sh', '{{A}} {{B}} {{C}}', { A: 'x' })).toThrow('user data template boot.sh: no value for placeholder(s) {{B}}, {{C}}');
  });

  test('fails on a value that matches no placeholder (a leftover from a renamed placeholder)', () => {
    expect(() => renderTemplate('t', '{{A}}', { A: 'x', OLD: 'y' })).toThrow(/value\(s\) OLD match no placeholder/);
  });

  test('a value containing braces is not re-scanned', () => {
    expect(renderTemplate('t', '{{A}}', { A: '{{B}}' })).toBe('{{B}}');
  });

  test('a template edited to need a new placeholder fails the fleet render', () => {
    const templates = { ...loadTemplates(), 'boot.sh': `${loadTemplates()['boot.sh']}\necho {{NEW_SETTING}}\n` };
    const { specs } = buildEnvironment('dev');
    expect(() => renderFleetUserData(input(specs[0]), templates)).toThrow(/boot\.sh: no value for placeholder\(s\) \{\{NEW_SETTING\}\}/);
  });
});

describe('shell quoting', () => {
  test.each([
    ['plain'], ["it's"], ['$(touch /tmp/pwned)'], ['`id`'], ['a "b" c'], ['two\nlines'], ['back\\slash'], [''], ['*'],
  ])('bash reads %j back exactly', (value) => {
    const out = spawnSync('bash', ['-c', `printf '%s' ${shellQuote(value)}`], { encoding: 'utf8' });
    expect(out.stdout).toBe(value);
  });

  test('words become one array item each', () => {
    const out = spawnSync('bash', ['-c', `a=(${shellWords(['x y', "z'", '--flag'])}); printf '%s|' "\${a[@]}"`], { encoding: 'utf8' });
    expect(out.stdout).toBe("x y|z'|--flag|");
  });
});

describe('vllmArgs', () => {
  const base: VllmServerSpec = {
    role: 'generate', port: 8000, model: 'llama-3.1-8b-instruct', hubModelId: 'org/model', servedModelName: 'served',
    runner: 'generate', weightFormat: 'awq-int4', maxModelLen: 4096, maxNumBatchedTokens: 8192, maxNumSeqs: 64,
    tensorParallelSize: 2, kvCacheDtype: 'fp8', gpuMemoryUtilization: 0.9, extraArgs: [], trustRemoteCode: false, gated: true,
  };
  const sha = (c: string) => c.repeat(40);

  test('every engine flag with its value', () => {
    expect(vllmArgs(base)).toEqual([
      '--model', 'org/model', '--served-model-name', 'served', '--port', '8000', '--max-model-len', '4096',
      '--max-num-batched-tokens', '8192', '--max-num-seqs', '64', '--tensor-parallel-size', '2',
      '--kv-cache-dtype', 'fp8', '--gpu-memory-utilization', '0.9',
    ]);
  });

  test('pooling servers add --runner pooling, then the catalog extra flags', () => {
    expect(vllmArgs({ ...base, runner: 'pooling', extraArgs: ['--max-logprobs', '5'] }).slice(-4)).toEqual(['--runner', 'pooling', '--max-logprobs', '5']);
  });

  test('a pinned revision pins the weights and the tokenizer to one commit', () => {
    expect(vllmArgs({ ...base, revision: sha('a') }).slice(-4)).toEqual(['--revision', sha('a'), '--tokenizer-revision', sha('a')]);
    expect(vllmArgs(base)).not.toContain('--revision');
  });

  test('remote code runs only from pinned commits: --trust-remote-code comes with --revision and --code-revision', () => {
    const args = vllmArgs({ ...base, trustRemoteCode: true, revision: sha('a'), codeRevision: sha('b') });
    expect(args.slice(-7)).toEqual(['--revision', sha('a'), '--tokenizer-revision', sha('a'), '--trust-remote-code', '--code-revision', sha('b')]);
  });

  test.each([
    ['no revision', { codeRevision: 'b'.repeat(40) }],
    ['no code revision', { revision: 'a'.repeat(40) }],
    ['a branch name', { revision: 'main', codeRevision: 'b'.repeat(40) }],
  ])('remote code with %s is refused', (_case, pins) => {
    expect(() => vllmArgs({ ...base, trustRemoteCode: true, ...pins })).toThrow(/expected two 40-hex commits for a model loaded with --trust-remote-code/);
  });

  test.each(WEIGHT_FORMATS)('never --quantization, whatever the weight format (%s)', (weightFormat) => {
    for (const model of Object.keys(MODEL_CATALOG)) {
      expect(vllmArgs({ ...base, model, weightFormat })).not.toContain('--quantization');
    }
  });
});

describe('renderFleetUserData', () => {
  test('every file in userdata/ is a template the renderer uses', () => {
    expect(fs.readdirSync(USERDATA_DIR).sort()).toEqual([...TEMPLATE_FILES].sort());
  });

  test.each(['dev', 'staging', 'prod'])('%s: every fleet\'s user data fits the EC2 16 KiB limit', (envName) => {
    const { specs } = buildEnvironment(envName);
    for (const fleet of specs) {
      expect(Buffer.byteLength(renderFleetUserData(input(fleet)).script)).toBeLessThan(USER_DATA_LIMIT_BYTES);
    }
  });

  test('user data over the EC2 limit fails the synth with the size', () => {
    const { specs } = buildEnvironment('dev');
    const huge = { ...specs[1], servers: [{ ...specs[1].servers[0], hubModelId: 'x'.repeat(20_000) }] };
    expect(() => renderFleetUserData(input(huge))).toThrow(/fleet small: user data is \d+ bytes, expected at most 16384/);
  });

  test('a fleet with no server is rejected', () => {
    const { specs } = buildEnvironment('dev');
    expect(() => renderFleetUserData(input({ ...specs[1], servers: [] }))).toThrow(/fleet small: got no servers/);
  });

  test('embedded scripts lose comment lines but keep the shebang and shellcheck directives', () => {
    expect(stripComments('#!/usr/bin/env bash\n# why\n# shellcheck disable=SC1083\n  # indented\necho "# not a comment"\n'))
      .toBe('#!/usr/bin/env bash\n# shellcheck disable=SC1083\necho "# not a comment"\n');
  });

  test('every rendered script passes bash -n and shellcheck', () => {
    const { specs } = buildEnvironment('dev');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-render-'));
    try {
      const scripts: string[] = [];
      for (const fleet of specs) {
        const rendered = renderFleetUserData(input(fleet));
        const boot = path.join(dir, `${fleet.name}-boot.sh`);
        fs.writeFileSync(boot, rendered.script);
        scripts.push(boot);
        for (const [p, f] of Object.entries(rendered.files)) {
          if (!p.endsWith('.sh')) continue;
          const file = path.join(dir, `${fleet.name}-${path.basename(p)}`);
          fs.writeFileSync(file, f.content);
          scripts.push(file);
        }
      }
      for (const s of scripts) {
        expect(spawnSync('bash', ['-n', s], { encoding: 'utf8' }).stderr).toBe('');
      }
      const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;
      if (hasShellcheck) {
        // SC2016: the embedded files are single-quoted on purpose; they must not expand at boot.
        const check = spawnSync('shellcheck', ['-e', 'SC2016', ...scripts], { encoding: 'utf8' });
        expect(check.stdout).toBe('');
        expect(check.status).toBe(0);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
