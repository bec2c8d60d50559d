/**
 * A small interpreter of the Dockerfile instructions the proxy image uses, for machines without a
 * Docker engine: each stage gets a scratch directory as its root filesystem, COPY copies from the
 * build context (honouring its .dockerignore) or from an earlier stage, RUN runs the command with
 * the host's Node in place of the base image's, and the last stage's CMD can then be started.
 * An instruction, flag or form it does not implement fails loudly, so a Dockerfile change is
 * either exercised or reported, never skipped.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IgnoreStrategy } from 'aws-cdk-lib';

/** One instruction, continuation lines joined. */
export interface Instruction {
  /** 1-based line where the instruction starts. */
  readonly line: number;
  /** Upper-case keyword: FROM, COPY, RUN, ... */
  readonly keyword: string;
  /** Everything after the keyword. */
  readonly args: string;
}

/** Instructions this interpreter implements. */
export const KNOWN_INSTRUCTIONS = ['FROM', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'USER', 'EXPOSE', 'HEALTHCHECK', 'CMD'] as const;

/** A Dockerfile this interpreter cannot reproduce faithfully. */
export class UnsupportedDockerfile extends Error {}

function unsupported(i: Pick<Instruction, 'line'>, what: string): never {
  throw new UnsupportedDockerfile(`Dockerfile line ${i.line}: ${what}; teach test/proxy-deploy/dockerfile.ts what it does before relying on it`);
}

/** Splits a Dockerfile into instructions: comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const out: Instruction[] = [];
  let pending: { line: number; text: string } | undefined;
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    if (/^\s*#\s*escape\s*=/i.test(raw) && out.length === 0 && !pending) {
      unsupported({ line: lineNo }, 'the escape parser directive');
    }
    // A comment line is dropped, also inside a continued instruction (as Docker does).
    if (/^\s*#/.test(raw)) return;
    if (!pending && raw.trim() === '') return;
    const continued = /\\\s*$/.test(raw);
    const piece = continued ? raw.replace(/\\\s*$/, '') : raw;
    pending = pending ? { line: pending.line, text: `${pending.text} ${piece.trim()}` } : { line: lineNo, text: piece.trim() };
    if (continued) return;
    const match = /^(\S+)\s*(.*)$/s.exec(pending.text) as RegExpExecArray;
    const keyword = match[1].toUpperCase();
    if (!(KNOWN_INSTRUCTIONS as readonly string[]).includes(keyword)) {
      unsupported({ line: pending.line }, `instruction ${keyword} is not interpreted`);
    }
    out.push({ line: pending.line, keyword, args: match[2].trim() });
    pending = undefined;
  });
  if (pending) unsupported(pending, 'a continuation with no end');
  return out;
}

/** One build stage: its base image, optional name and instructions. */
export interface Stage {
  readonly line: number;
  readonly base: string;
  readonly name?: string;
  readonly instructions: readonly Instruction[];
}

/** Groups instructions into stages at each FROM. */
export function splitStages(instructions: readonly Instruction[]): Stage[] {
  const stages: { line: number; base: string; name?: string; instructions: Instruction[] }[] = [];
  for (const i of instructions) {
    if (i.keyword === 'FROM') {
      const m = /^(?!--)(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      if (!m) unsupported(i, `FROM ${i.args} (flags or extra words)`);
      stages.push({ line: i.line, base: m[1], name: m[2], instructions: [] });
      continue;
    }
    const current = stages.at(-1);
    if (!current) unsupported(i, `${i.keyword} before the first FROM`);
    current.instructions.push(i);
  }
  return stages;
}

/** The filesystem and settings a stage left behind. */
export interface StageResult {
  readonly name?: string;
  /** Host directory standing for the stage's `/`. */
  readonly root: string;
  /** Working directory inside the stage, absolute (`/app`). */
  readonly workdir: string;
  /** ENV values in effect at the end of the stage. */
  readonly env: Readonly<Record<string, string>>;
  /** CMD in exec form, when the stage sets one. */
  readonly cmd?: readonly string[];
  /** USER, EXPOSE and HEALTHCHECK as written: recorded, with no effect on the files. */
  readonly metadata: readonly Instruction[];
}

/** Where and how a stage runs. */
export interface StageOptions {
  /** The build context: a directory holding the Dockerfile's sources and its .dockerignore. */
  readonly context: string;
  /** Empty host directory to use as the stage's `/`. */
  readonly root: string;
  /** Stages run before, by name, for `COPY --from`. */
  readonly earlier: ReadonlyMap<string, StageResult>;
  /** Environment every RUN starts from (PATH to the host's node and npm, HOME, ...). */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Longest a RUN may take, ms. */
  readonly runTimeoutMs: number;
}

/** Host path of `p` inside a stage root, relative paths taken from `workdir`. */
function inside(root: string, workdir: string, p: string): string {
  const abs = path.posix.resolve(workdir, p);
  return path.join(root, ...abs.split('/').filter(Boolean));
}

/** Parses `["a", "b"]` (exec form) or returns undefined for the shell form. */
function execForm(i: Instruction): string[] | undefined {
  if (!i.args.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(i.args);
  } catch {
    unsupported(i, `${i.keyword} with a malformed JSON array`);
  }
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) unsupported(i, `${i.keyword} with a JSON value other than a list of strings`);
  return parsed as string[];
}

/** Splits words the way the ENV and COPY shell forms do: whitespace, with "..." or '...' quoting. */
function words(i: Instruction, text: string): string[] {
  if (text.includes('$')) unsupported(i, `variable substitution in ${i.keyword}`);
  // A word is a run of unquoted, "double-quoted" and 'single-quoted' pieces: KEY="a b" is one word.
  const word = /(?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"']+)+/g;
  const piece = /"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+)/g;
  return (text.match(word) ?? []).map((w) => [...w.matchAll(piece)]
    .map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]))).join(''));
}

function parseEnv(i: Instruction): [string, string][] {
  const parts = words(i, i.args);
  if (parts.length > 0 && !parts[0].includes('=')) {
    // Legacy form: ENV KEY value with spaces.
    return [[parts[0], parts.slice(1).join(' ')]];
  }
  return parts.map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) unsupported(i, `ENV item "${p}" without KEY=value`);
    return [p.slice(0, eq), p.slice(eq + 1)];
  });
}

/** Runs every instruction of one stage in `options.root`. */
export function runStage(stage: Stage, options: StageOptions): StageResult {
  if (!/^node:\d+/.test(stage.base)) {
    unsupported(stage, `base image ${stage.base}: only node images are emulated (the host's node stands in for the image's)`);
  }
  const contextIgnore = contextFilter(options.context);
  let workdir = '/';
  const env: Record<string, string> = {};
  let cmd: string[] | undefined;
  const metadata: Instruction[] = [];
  fs.mkdirSync(options.root, { recursive: true });

  for (const i of stage.instructions) {
    switch (i.keyword) {
      case 'WORKDIR':
        workdir = path.posix.resolve(workdir, words(i, i.args)[0]);
        fs.mkdirSync(inside(options.root, '/', workdir), { recursive: true });
        break;
      case 'ENV':
        for (const [k, v] of parseEnv(i)) env[k] = v;
        break;
      case 'COPY':
        copy(i, options, workdir, contextIgnore);
        break;
      case 'RUN': {
        const argv = execForm(i) ?? ['/bin/sh', '-c', i.args];
        const result = spawnSync(argv[0], argv.slice(1), {
          cwd: inside(options.root, '/', workdir),
          env: { ...options.baseEnv, ...env },
          encoding: 'utf8',
          timeout: options.runTimeoutMs,
          maxBuffer: 64 * 1024 * 1024,
        });
        if (result.status !== 0) {
          const output = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').slice(-40).join('\n');
          throw new Error(`Dockerfile line ${i.line}: RUN ${i.args} failed (exit ${result.status}${result.signal ? `, ${result.signal}` : ''}${result.error ? `, ${result.error.message}` : ''}):\n${output}`);
        }
        break;
      }
      case 'CMD':
        cmd = execForm(i) ?? ['/bin/sh', '-c', i.args];
        break;
      case 'USER':
      case 'EXPOSE':
      case 'HEALTHCHECK':
        metadata.push(i);
        break;
      default:
        unsupported(i, `instruction ${i.keyword} inside a stage`);
    }
  }
  return { name: stage.name, root: options.root, workdir, env, cmd, metadata };
}

/** Whether a path of the context is excluded by its .dockerignore (the Dockerfile's view of it). */
function contextFilter(context: string): (abs: string) => boolean {
  const file = path.join(context, '.dockerignore');
  if (!fs.existsSync(file)) return () => false;
  const patterns = fs.readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const strategy = IgnoreStrategy.docker(context, patterns);
  return (abs) => abs !== context && strategy.ignores(abs);
}

function copy(i: Instruction, options: StageOptions, workdir: string, ignored: (abs: string) => boolean): void {
  let args = words(i, i.args.startsWith('[') ? '' : i.args);
  let from: StageResult | undefined;
  while (args[0]?.startsWith('--')) {
    const flag = args.shift() as string;
    const m = /^--from=(.+)$/.exec(flag);
    if (!m) unsupported(i, `COPY flag ${flag}`);
    from = options.earlier.get(m[1]);
    if (!from) unsupported(i, `COPY --from=${m[1]}: no earlier stage of that name`);
  }
  if (i.args.startsWith('[')) args = execForm(i) as string[];
  if (args.length < 2) unsupported(i, 'COPY without a source and a destination');
  const dest = args[args.length - 1];
  const sources = args.slice(0, -1);
  const destAbs = inside(options.root, workdir, dest);
  const destIsDir = dest.endsWith('/') || dest === '.' || sources.length > 1;
  for (const src of sources) {
    if (/[*?[]/.test(src)) unsupported(i, `COPY source pattern ${src}`);
    const srcAbs = from ? inside(from.root, from.workdir, src) : path.resolve(options.context, src);
    if (!from && (!srcAbs.startsWith(`${options.context}${path.sep}`) && srcAbs !== options.context)) {
      throw new Error(`Dockerfile line ${i.line}: COPY ${src}: outside the build context`);
    }
    // Docker's message when a source is absent from the context (or excluded by .dockerignore).
    if (!fs.existsSync(srcAbs) || (!from && ignored(srcAbs))) {
      throw new Error(`Dockerfile line ${i.line}: COPY failed: "${src}" not found in ${from ? `stage ${from.name}` : 'the build context (staged asset minus .dockerignore)'}`);
    }
    const filter = (p: string) => from !== undefined || !ignored(p);
    if (fs.statSync(srcAbs).isDirectory()) {
      fs.cpSync(srcAbs, destAbs, { recursive: true, filter });
    } else {
      const target = destIsDir ? path.join(destAbs, path.basename(srcAbs)) : destAbs;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(srcAbs, target);
    }
  }
}

/** Every file under `dir`, as relative POSIX paths, sorted. */
export function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}
