/**
 * The proxy image built from what `cdk synth` stages, without a Docker engine: the environment
 * stack is synthesized as `cdk synth` does, the docker image asset's staged directory is copied, and
 * proxy/Dockerfile (the staged copy) is interpreted step by step on it: the build stage runs its real
 * `npm ci` and bundle step, the runtime stage is assembled in a directory holding nothing else, and
 * its CMD must serve the proxy's health path. A source file the image does not stage (an import
 * from lib/, say) fails here with the bundler's "Could not resolve", as `cdk deploy` would.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildApp } from '../../lib/app';
import { PROXY_DOCKERFILE, PROXY_HEALTH_PATH } from '../../lib/proxy-config/container';
import { PROXY_CONFIG_ENV } from '../../lib/proxy-config/validate';
import { configFor, testApp } from './fixture';
import { listFiles, parseDockerfile, runStage, splitStages, StageResult } from './dockerfile';

interface ImageSource { directory: string; dockerFile: string; platform?: string }

/** A port nothing listens on (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('proxy image built from the asset cdk synth stages (Dockerfile steps reproduced, no Docker engine)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'proxy-image-'));
  const context = path.join(work, 'context');
  let images: ImageSource[] = [];
  let stagedDir = '';
  let build: StageResult;
  let runtime: StageResult;

  beforeAll(() => {
    // One synth of the environment stack, as `cdk synth -c env=dev` builds it (cdk-nag off: it
    // changes no asset). ContainerImage.fromAsset stages the directory .dockerignore lets through.
    const app = testApp();
    const { environment } = buildApp(app, configFor('dev'), { nag: false });
    const assembly = app.synth();
    const manifest = JSON.parse(readFileSync(path.join(assembly.directory, `${environment.artifactId}.assets.json`), 'utf8'));
    images = Object.values(manifest.dockerImages ?? {}).map((i) => (i as { source: ImageSource }).source);
    if (images.length !== 1) throw new Error(`expected one docker image asset, found ${images.length}`);
    stagedDir = path.join(assembly.directory, images[0].directory);
    cpSync(stagedDir, context, { recursive: true });

    const stages = splitStages(parseDockerfile(readFileSync(path.join(context, images[0].dockerFile), 'utf8')));
    const baseEnv = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? work,
      TMPDIR: tmpdir(),
      // The Dockerfile's `npm ci` as written, served from the local npm cache where it can be.
      npm_config_prefer_offline: 'true',
      npm_config_update_notifier: 'false',
    };
    const done = new Map<string, StageResult>();
    const results = stages.map((stage, i) => {
      const result = runStage(stage, { context, root: path.join(work, `stage-${i}`), earlier: done, baseEnv, runTimeoutMs: 480_000 });
      if (stage.name) done.set(stage.name, result);
      return result;
    });
    build = results[0];
    runtime = results[results.length - 1];
  }, 600_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('the environment stack stages one image, built from proxy/Dockerfile for linux/amd64', () => {
    expect(images).toEqual([expect.objectContaining({ dockerFile: PROXY_DOCKERFILE, platform: 'linux/amd64' })]);
    expect(listFiles(context)).toEqual(listFiles(stagedDir));
  });

  test('the build stage ran npm ci and the bundle step on the staged files', () => {
    const files = listFiles(path.join(build.root, ...build.workdir.split('/').filter(Boolean)));
    expect(files).toContain('dist/main.js');
    expect(files).toContain('node_modules/esbuild/package.json');
  });

  test('the runtime stage holds only what its COPY lines bring: the one-file bundle and the exemplar prompts', () => {
    const files = listFiles(runtime.root);
    expect(files).toEqual(expect.arrayContaining(['app/dist/main.js', 'app/data/exemplars.json']));
    expect(files.filter((f) => !/^app\/(dist|data)\//.test(f))).toEqual([]);
    expect(runtime.workdir).toBe('/app');
    expect(runtime.cmd).toEqual(['node', 'dist/main.js']);
  });

  test('its CMD starts the proxy in that directory, which answers the health path with 200', async () => {
    const [port, closed1, closed2, closed3, closed4] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const upstream = (p: number) => `http://127.0.0.1:${p}`;
    const config = {
      port,
      host: '127.0.0.1',
      allowUnauthenticated: true,
      metrics: { enabled: false },
      tiers: [
        { name: 'small', baseUrl: upstream(closed1), model: 'small-model' },
        { name: 'large', baseUrl: upstream(closed2), model: 'large-model' },
      ],
      router: {
        embedding: { baseUrl: upstream(closed3), model: 'embedding-model' },
        scorer: { baseUrl: upstream(closed4), model: 'scorer-model' },
      },
    };
    const [command, ...args] = runtime.cmd as string[];
    let output = '';
    let exited: number | null | undefined;
    const child: ChildProcess = spawn(command, args, {
      cwd: path.join(runtime.root, ...runtime.workdir.split('/').filter(Boolean)),
      // The image's environment: its ENV lines plus what the task definition sets.
      env: { PATH: process.env.PATH ?? '', ...runtime.env, [PROXY_CONFIG_ENV]: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => { output += String(d); });
    child.stderr?.on('data', (d) => { output += String(d); });
    child.on('exit', (code) => { exited = code; });
    try {
      let status = 0;
      for (let attempt = 0; attempt < 100 && status !== 200 && exited === undefined; attempt++) {
        status = await get(`http://127.0.0.1:${port}${PROXY_HEALTH_PATH}`).catch(() => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      if (status !== 200) throw new Error(`no 200 from ${PROXY_HEALTH_PATH} (exit ${String(exited)}):\n${output.slice(-3000)}`);
      expect(status).toBe(200);
    } finally {
      if (exited === undefined) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(timer);
      }
    }
  }, 60_000);
});
