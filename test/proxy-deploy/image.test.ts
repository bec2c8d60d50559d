import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { REPOSITORY_ROOT } from '../../lib/constructs/routing-proxy-image';
import { PROXY_DOCKERFILE, PROXY_HEALTHCHECK_COMMAND } from '../../lib/proxy-config/container';
import { bundleProxy, PROXY_NODE_TARGET } from '../../proxy/bundle';
import { configFor, proxyStack, testApp } from './fixture';

const dockerfile = readFileSync(path.join(REPOSITORY_ROOT, PROXY_DOCKERFILE), 'utf8');
const instructions = dockerfile.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
const stages = dockerfile.split(/^FROM /m).slice(1);
const runtime = stages[stages.length - 1];

describe('proxy/Dockerfile', () => {
  it('builds in one stage and runs on a slim Node 22 or 24 image in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime).toMatch(/^node:(22|24)[\w.-]*-slim AS runtime/);
    expect(PROXY_NODE_TARGET).toBe(`node${runtime.match(/^node:(\d+)/)![1]}`);
  });

  it('runs as a non-root user in production mode, without node_modules or sources', () => {
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^ENV NODE_ENV=production$/m);
    expect(runtime).not.toMatch(/npm (ci|install)|node_modules|proxy\/src/);
    expect(runtime).toMatch(/^COPY --from=build \/build\/dist \.\/dist$/m);
    expect(runtime).toMatch(/^COPY proxy\/data \.\/data$/m);
  });

  it('bundles with the same esbuild options the tests use', () => {
    expect(dockerfile).toMatch(/^RUN npx tsx proxy\/bundle\.ts dist\/main\.js$/m);
    expect(instructions.at(-1)).toBe('CMD ["node", "dist/main.js"]');
  });

  it('health-checks /healthz with the same command as the ECS task', () => {
    const line = instructions.find((l) => l.startsWith('HEALTHCHECK '))!;
    const command = JSON.parse(line.slice(line.indexOf('CMD ') + 4));
    expect(['CMD', ...command]).toEqual(PROXY_HEALTHCHECK_COMMAND);
  });
});

describe('proxy bundle (esbuild, no Docker)', () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'proxy-bundle-')), 'main.js');
  let metafile: Awaited<ReturnType<typeof bundleProxy>>;
  beforeAll(async () => {
    metafile = await bundleProxy(REPOSITORY_ROOT, out);
  }, 60_000);

  it('is one file that inlines every package and the shared contracts', () => {
    expect(statSync(out).size).toBeGreaterThan(0);
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain('contracts/metrics.ts');
    expect(inputs.some((i) => i.startsWith('node_modules/zod/'))).toBe(true);
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const external = Object.values(metafile.inputs).flatMap((i) => i.imports.filter((imp) => imp.external).map((imp) => imp.path));
    expect([...new Set(external)].filter((p) => !builtins.has(p))).toEqual([]);
  });

  it('ships a source map without source text, and pulls in nothing from the CDK app', () => {
    const map = JSON.parse(readFileSync(`${out}.map`, 'utf8'));
    expect(map.sourcesContent ?? []).toEqual([]);
    expect(readFileSync(out, 'utf8')).not.toContain('sourceMappingURL=data:');
    expect(Object.keys(metafile.inputs).filter((i) => i.includes('aws-cdk-lib') || i.startsWith('lib/') || i.startsWith('lambda/'))).toEqual([]);
  });
});

describe('image asset staged by cdk synth (no Docker)', () => {
  const app = testApp();
  const s = proxyStack(configFor('dev'), app);
  const assembly = app.synth();
  const manifest = JSON.parse(readFileSync(path.join(assembly.directory, `${s.stack.artifactId}.assets.json`), 'utf8'));
  const images = Object.values(manifest.dockerImages ?? {}) as { source: { directory: string; dockerFile: string; platform?: string } }[];

  const files = (dir: string, prefix = ''): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]);

  it('stages one image for linux/amd64 from proxy/Dockerfile', () => {
    expect(images).toHaveLength(1);
    expect(images[0].source).toMatchObject({ dockerFile: PROXY_DOCKERFILE, platform: 'linux/amd64' });
  });

  it('holds only what the image build needs: no node_modules, .git, cdk.out, tests or CDK code', () => {
    const staged = files(path.join(assembly.directory, images[0].source.directory));
    expect(staged).toEqual(expect.arrayContaining([
      'package.json', 'package-lock.json', 'tsconfig.json', PROXY_DOCKERFILE, '.dockerignore',
      'contracts/metrics.ts', 'proxy/bundle.ts', 'proxy/src/main.ts', 'proxy/src/config.ts',
    ]));
    expect(staged.some((f) => f.startsWith('proxy/data/'))).toBe(true);
    expect(staged.filter((f) => /^(node_modules|\.git|cdk\.out|test|bin|lib|lambda|tools|docs-draft)\//.test(f))).toEqual([]);
    expect(staged.filter((f) => f.endsWith('.test.ts'))).toEqual([]);
    expect(staged.length).toBeLessThan(200);
  });

  it('copies the exemplar prompts the proxy loads at start-up', () => {
    expect(existsSync(path.join(REPOSITORY_ROOT, 'proxy/data/exemplars.json'))).toBe(true);
  });
});
