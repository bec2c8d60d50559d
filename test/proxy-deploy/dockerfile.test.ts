import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { listFiles, parseDockerfile, runStage, splitStages, UnsupportedDockerfile } from './dockerfile';

describe('Dockerfile interpreter used by the image build test', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'dockerfile-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const stageOptions = (context: string, root: string, earlier = new Map()) => ({
    context, root, earlier, baseEnv: { PATH: process.env.PATH ?? '' }, runTimeoutMs: 10_000,
  });

  test('joins continuation lines, drops comments (also inside a continuation), keeps line numbers', () => {
    const parsed = parseDockerfile('# syntax=docker/dockerfile:1\nFROM node:22 AS build\n\nRUN echo a \\\n# note\n  && echo b\nCMD ["node", "x.js"]\n');
    expect(parsed).toEqual([
      { line: 2, keyword: 'FROM', args: 'node:22 AS build' },
      { line: 4, keyword: 'RUN', args: 'echo a && echo b' },
      { line: 7, keyword: 'CMD', args: '["node", "x.js"]' },
    ]);
  });

  test.each(['ADD', 'ENTRYPOINT', 'ARG', 'VOLUME', 'SHELL', 'ONBUILD'])('fails loudly on %s, an instruction it does not interpret', (keyword) => {
    expect(() => parseDockerfile(`FROM node:22\n${keyword} something\n`)).toThrow(new UnsupportedDockerfile(
      `Dockerfile line 2: instruction ${keyword} is not interpreted; teach test/proxy-deploy/dockerfile.ts what it does before relying on it`,
    ));
  });

  test('fails loudly on a COPY flag, a source pattern or a variable it does not implement', () => {
    const context = path.join(dir, 'ctx');
    mkdirSync(context);
    for (const line of ['COPY --chown=node a ./', 'COPY *.json ./', 'COPY $SRC ./']) {
      const [stage] = splitStages(parseDockerfile(`FROM node:22\n${line}\n`));
      expect(() => runStage(stage, stageOptions(context, path.join(dir, 'root')))).toThrow(UnsupportedDockerfile);
    }
  });

  test('COPY of a source the .dockerignore excludes fails as docker build does', () => {
    const context = path.join(dir, 'ctx');
    mkdirSync(path.join(context, 'lib'), { recursive: true });
    writeFileSync(path.join(context, 'lib', 'x.ts'), '');
    writeFileSync(path.join(context, 'keep.txt'), 'k');
    writeFileSync(path.join(context, '.dockerignore'), '*\n!keep.txt\n');
    const [ok] = splitStages(parseDockerfile('FROM node:22\nWORKDIR /w\nCOPY keep.txt ./\n'));
    runStage(ok, stageOptions(context, path.join(dir, 'ok')));
    expect(readFileSync(path.join(dir, 'ok', 'w', 'keep.txt'), 'utf8')).toBe('k');
    const [bad] = splitStages(parseDockerfile('FROM node:22\nWORKDIR /w\nCOPY lib ./lib\n'));
    expect(() => runStage(bad, stageOptions(context, path.join(dir, 'bad')))).toThrow('Dockerfile line 3: COPY failed: "lib" not found in the build context (staged asset minus .dockerignore)');
  });

  test('a directory is copied as its contents, a file to a file, COPY --from reads an earlier stage, RUN runs in WORKDIR with ENV', () => {
    const context = path.join(dir, 'ctx');
    mkdirSync(path.join(context, 'src', 'sub'), { recursive: true });
    writeFileSync(path.join(context, 'src', 'sub', 'a.txt'), 'a');
    writeFileSync(path.join(context, 'b.txt'), 'b');
    const stages = splitStages(parseDockerfile([
      'FROM node:22 AS build', 'WORKDIR /build', 'ENV GREETING="hello there"', 'COPY src ./src', 'COPY b.txt ./renamed.txt',
      'RUN mkdir out && printf "%s" "$GREETING" > out/greeting && cp src/sub/a.txt out/',
      'FROM node:22-slim AS runtime', 'ENV MODE=test', 'WORKDIR /app', 'COPY --from=build /build/out ./out', 'USER node', 'CMD ["node", "main.js"]',
    ].join('\n')));
    const build = runStage(stages[0], stageOptions(context, path.join(dir, 'b')));
    expect(listFiles(path.join(dir, 'b'))).toEqual(['build/out/a.txt', 'build/out/greeting', 'build/renamed.txt', 'build/src/sub/a.txt']);
    expect(readFileSync(path.join(dir, 'b', 'build', 'out', 'greeting'), 'utf8')).toBe('hello there');
    const runtime = runStage(stages[1], stageOptions(context, path.join(dir, 'r'), new Map([['build', build]])));
    expect(listFiles(path.join(dir, 'r'))).toEqual(['app/out/a.txt', 'app/out/greeting']);
    expect(runtime).toMatchObject({ workdir: '/app', env: { MODE: 'test' }, cmd: ['node', 'main.js'] });
    expect(runtime.metadata.map((i) => i.keyword)).toEqual(['USER']);
  });

  test('a failing RUN reports its line, command and output', () => {
    const [stage] = splitStages(parseDockerfile('FROM node:22\nRUN echo "Could not resolve x" >&2 && exit 3\n'));
    expect(() => runStage(stage, stageOptions(dir, path.join(dir, 'root')))).toThrow(/Dockerfile line 2: RUN echo .* failed \(exit 3\):\nCould not resolve x/);
  });
});
