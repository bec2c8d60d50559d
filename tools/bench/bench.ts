/**
 * `npm run bench`: what the routing proxy costs per streamed request, measured against a direct
 * connection and against nginx as a plain reverse proxy, on one machine.
 *
 * Layout on a 2-core machine: the proxy (and nginx) pinned to core 0; the simulated upstreams, the
 * load generator (wrk when installed, else autocannon; one tool for every target in a run) and this
 * script pinned to core 1. The proxy
 * runs as it does in production: bundled with the image's esbuild options and started with `node`,
 * configured through LLM_ROUTER_CONFIG, CloudWatch publishing off. Each target's streams are checked
 * for integrity before anything is timed; rounds interleave the targets and the table reports medians.
 *
 *   npm run bench -- [--duration 5] [--rounds 3] [--concurrency 64,256] [--targets direct,nginx,bypass,scored]
 *
 * An A/B of two Node runtimes: `--alt-node` starts a second proxy (B) on another Node binary beside
 * the first, and its bypassed and scored targets join every round.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, openSync, closeSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { PROXY_NODE_OPTIONS, proxyBundleOptions } from '../../proxy/bundle';
import type { LoadResult, LoadSpec } from './load';
import { NGINX_INSTALL_HINT, findNginx, writeNginxConfig } from './nginx';
import { childPids, cpuSecondsOf, peakRssMiB, reapedChildrenCpuSeconds, resetPeakRss, systemSecondsOf } from './procfs';
import { RunSample, TARGET_LABELS, TARGET_ORDER, TargetName, TtfbSample, evaluate, formatReport, median, summarize } from './report';
import type { UpstreamSpec } from './upstreams';
import { WRK_INSTALL_HINT, findWrk, parseWrkOutput, writeWrkScript } from './wrk';

const ROOT = path.resolve(__dirname, '..', '..');
const API_KEY = 'sk-bench-1';
const ALL_TARGETS: readonly TargetName[] = ['direct', 'nginx', 'bypass', 'scored'];

/** Prompts of the full-scoring workload: half support/lookup, half reasoning and design. */
const SCORED_PROMPTS: readonly string[] = [
  'What are your customer support hours on weekends?',
  'Design a distributed rate limiter for a multi-region API and explain the consistency and concurrency trade-offs step by step.',
  'How do I reset my account password?',
  'Explain the architecture of a fault-tolerant job scheduler with leader election and analyze its failure modes.',
  'Convert 3 March 2024 to ISO 8601 format.',
  'Design a concurrent cache with an eviction policy and discuss the locking strategy and its complexity.',
  'Can I change the shipping address on my order?',
  'Optimize this distributed data pipeline for throughput and explain the algorithm behind the partitioning.',
];

interface Options {
  durationS: number;
  rounds: number;
  warmupS: number;
  concurrency: number[];
  ttfbRequests: number;
  targets: TargetName[];
  chunks: number;
  chunkIntervalMs: number;
  pin: boolean;
  proxyCore: number;
  loadCore: number;
  keepTemp: boolean;
  loadTool: 'wrk' | 'autocannon' | undefined;
  /** Node binary of the proxy (default: the one running this script). */
  node: string;
  /** Node binary of proxy B, run beside the first; absent without B. */
  altNode: string | undefined;
  /** Checkout whose proxy B is built from (default: proxy B runs this checkout's bundle). */
  altRoot: string | undefined;
}

const USAGE = `Usage: npm run bench -- [options]

  --duration <s>          seconds per timed run (default 5)
  --rounds <n>            rounds; every round runs every target at every concurrency (default 3)
  --warmup <s>            seconds of load per target and concurrency before the rounds (default 10:
                          the proxy's JIT is still optimizing and deoptimizing code for 10-15 s)
  --concurrency <list>    concurrent streams, comma-separated (default 64,256)
  --ttfb-requests <n>     sequential requests per time-to-first-byte probe (default 200)
  --targets <list>        any of direct,nginx,bypass,scored (default all)
  --chunks <n>            content chunks per stream (default 20)
  --chunk-interval-ms <n> time between chunks (default 5)
  --proxy-core <n>        core for the proxy and nginx (default 0)
  --load-core <n>         core for the upstreams and the load generator (default 1)
  --load-tool <name>      wrk or autocannon (default: wrk when installed, else autocannon)
  --node <path>           Node binary that runs the proxy (default: this script's, ${process.version})
  --alt-node <path>       also run proxy B, the same bundle on this Node binary, side by side with
                          the first (its targets: bypassB, scoredB)
  --alt-root <dir>        also run proxy B built from the checkout in <dir> (for example a
                          \`git worktree\` of main), on --alt-node or the first proxy's Node
  --no-pin                do not pin processes to cores
  --keep-temp             keep the temp dir (bundle, nginx config, proxy log)
`;

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      'ttfb-requests': { type: 'string' },
      targets: { type: 'string' },
      chunks: { type: 'string' },
      'chunk-interval-ms': { type: 'string' },
      'proxy-core': { type: 'string' },
      'load-core': { type: 'string' },
      'load-tool': { type: 'string' },
      node: { type: 'string' },
      'alt-node': { type: 'string' },
      'alt-root': { type: 'string' },
      'no-pin': { type: 'boolean' },
      'keep-temp': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const problems: string[] = [];
  const int = (flag: string, raw: string | undefined, def: number, min: number, max: number): number => {
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problems.push(`--${flag}: got ${JSON.stringify(raw)}, expected an integer from ${min} to ${max}`);
      return def;
    }
    return n;
  };
  const concurrency = (values.concurrency ?? '64,256').split(',').map((s) => int('concurrency', s.trim(), 64, 1, 4096));
  const targets = (values.targets ?? ALL_TARGETS.join(',')).split(',').map((s) => s.trim()) as TargetName[];
  for (const t of targets) {
    if (!ALL_TARGETS.includes(t)) problems.push(`--targets: got ${JSON.stringify(t)}, expected any of ${ALL_TARGETS.join(', ')}`);
  }
  const tool = values['load-tool'];
  if (tool !== undefined && tool !== 'wrk' && tool !== 'autocannon') problems.push(`--load-tool: got ${JSON.stringify(tool)}, expected wrk or autocannon`);
  for (const flag of ['node', 'alt-node'] as const) {
    const p = values[flag];
    if (p !== undefined && spawnSync(p, ['--version']).status !== 0) problems.push(`--${flag}: got ${JSON.stringify(p)}, expected a Node binary that runs`);
  }
  const node = values.node ?? process.execPath;
  const altRoot = values['alt-root'] === undefined ? undefined : path.resolve(values['alt-root']);
  if (altRoot !== undefined && !existsSync(path.join(altRoot, 'proxy', 'src', 'main.ts'))) {
    problems.push(`--alt-root: got ${JSON.stringify(values['alt-root'])}, expected a checkout with proxy/src/main.ts`);
  }
  const altNode = values['alt-node'] ?? (altRoot !== undefined ? node : undefined);
  if (altNode !== undefined) {
    if (targets.includes('bypass')) targets.push('bypassB');
    if (targets.includes('scored')) targets.push('scoredB');
  }
  if (!targets.includes('direct')) targets.unshift('direct'); // every difference is taken against it
  const opts: Options = {
    durationS: int('duration', values.duration, 5, 1, 600),
    rounds: int('rounds', values.rounds, 3, 1, 50),
    warmupS: int('warmup', values.warmup, 10, 0, 60),
    concurrency,
    ttfbRequests: int('ttfb-requests', values['ttfb-requests'], 200, 10, 100_000),
    targets: TARGET_ORDER.filter((t) => targets.includes(t)),
    chunks: int('chunks', values.chunks, 20, 1, 10_000),
    chunkIntervalMs: int('chunk-interval-ms', values['chunk-interval-ms'], 5, 0, 10_000),
    pin: !values['no-pin'],
    proxyCore: int('proxy-core', values['proxy-core'], 0, 0, 1023),
    loadCore: int('load-core', values['load-core'], 1, 0, 1023),
    keepTemp: values['keep-temp'] === true,
    loadTool: tool as Options['loadTool'],
    node,
    altNode,
    altRoot,
  };
  if (problems.length) throw new Error(problems.join('\n'));
  return opts;
}

// ---- processes -------------------------------------------------------------------------------

const children: ChildProcess[] = [];

function launch(cmd: string, args: string[], core: number | undefined, opts: { env?: NodeJS.ProcessEnv; stdout?: 'pipe' | 'ignore' | number; stderr?: 'pipe' | 'inherit' | number } = {}): ChildProcess {
  const [c, a] = core === undefined ? [cmd, args] : ['taskset', ['-c', String(core), cmd, ...args]];
  const child = spawn(c, a, { env: opts.env ?? process.env, stdio: ['ignore', opts.stdout ?? 'pipe', opts.stderr ?? 'pipe'] });
  children.push(child);
  return child;
}

function stopAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
}

function firstLine(child: ChildProcess, what: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms: ${err.trim()}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${err.trim()}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function httpJson(url: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms`);
}

// ---- targets ---------------------------------------------------------------------------------

interface Target {
  readonly name: TargetName;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly bodies: string[];
  /** Processes whose CPU and memory are charged to this target (none for direct). */
  readonly pids: () => number[];
  /** Process whose peak RSS is reported. */
  readonly rssPid?: () => number | undefined;
}

function streamBody(model: string, prompt: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], stream: true, ...extra });
}

interface StreamCheck {
  ok: boolean;
  detail: string;
  tier?: string;
}

/** One streamed request, checked frame by frame: every content chunk, a finish reason, [DONE] last. */
function checkStream(t: Target, body: string, chunks: number): Promise<StreamCheck> {
  return new Promise((resolve) => {
    const u = new URL(t.url);
    const req = http.request(
      { hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', ...t.headers }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const tier = res.headers['x-route-tier'] as string | undefined;
          if (res.statusCode !== 200) return resolve({ ok: false, detail: `status ${res.statusCode}: ${text.slice(0, 200)}`, tier });
          const data = text
            .split(/\r?\n\r?\n/)
            .map((f) => f.split(/\r?\n/).filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'))
            .filter(Boolean);
          let content = 0;
          let finish: string | null = null;
          for (const d of data) {
            if (d === '[DONE]') continue;
            let j: any;
            try {
              j = JSON.parse(d);
            } catch {
              return resolve({ ok: false, detail: `frame is not JSON: ${d.slice(0, 80)}`, tier });
            }
            const c = j.choices?.[0];
            if (typeof c?.delta?.content === 'string' && c.delta.content !== '') content++;
            if (c?.finish_reason) finish = c.finish_reason;
          }
          if (data[data.length - 1] !== '[DONE]') return resolve({ ok: false, detail: 'stream does not end with [DONE]', tier });
          if (content !== chunks) return resolve({ ok: false, detail: `got ${content} content chunks, expected ${chunks}`, tier });
          if (finish !== 'stop') return resolve({ ok: false, detail: `finish_reason ${finish}`, tier });
          if (t.name !== 'direct' && t.name !== 'nginx') {
            if (!tier || res.headers['x-route-reason'] === undefined) return resolve({ ok: false, detail: 'x-route-* headers missing', tier });
          }
          resolve({ ok: true, detail: 'ok', tier });
        });
        res.on('error', (e) => resolve({ ok: false, detail: e.message }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, detail: e.message }));
    req.end(body);
  });
}

/** Median time from sending a request to the first body byte, over `n` sequential requests. */
async function ttfbProbe(t: Target, n: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(t.url);
  // A one-token answer: the first-byte path is the same and the probe stays short.
  const bodies = t.bodies.map((b) => JSON.stringify({ ...JSON.parse(b), max_tokens: 1 }));
  const one = (body: string): Promise<number> =>
    new Promise((resolve, reject) => {
      let first = Number.NaN;
      const req = http.request(
        { hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', ...t.headers } },
        (res) => {
          res.once('data', () => (first = performance.now() - t0));
          res.on('data', () => undefined);
          res.on('end', () => resolve(first));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      const t0 = performance.now();
      req.end(body);
    });
  const times: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    const ms = await one(bodies[i % bodies.length]);
    if (i >= 10) times.push(ms); // the first few warm the connection and the JIT
  }
  agent.destroy();
  return median(times);
}

/** The load generator of this run: one tool for every target. */
interface LoadTool {
  readonly name: 'wrk' | 'autocannon';
  readonly path: string;
}

let wrkScripts = 0;

/** One timed load run on the load core; `cpuS` is the load generator's own CPU time. */
async function runLoad(tool: LoadTool, tmp: string, opts: Options, spec: LoadSpec): Promise<LoadResult> {
  const core = opts.pin ? opts.loadCore : undefined;
  const reaped0 = reapedChildrenCpuSeconds(process.pid);
  let child: ChildProcess;
  if (tool.name === 'wrk') {
    const script = path.join(tmp, `wrk-${++wrkScripts}.lua`);
    writeWrkScript(script, spec);
    child = launch(tool.path, ['-t1', `-c${spec.connections}`, `-d${spec.durationS}s`, '--timeout', '10s', '-s', script, spec.url], core);
  } else {
    child = launch(process.execPath, [tool.path, JSON.stringify(spec)], core, {
      env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
    });
  }
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const cpuS = reapedChildrenCpuSeconds(process.pid) - reaped0;
  if (code !== 0) throw new Error(`${tool.name} failed (${code}): ${err.trim() || out.slice(-500)}`);
  if (tool.name === 'wrk') {
    const w = parseWrkOutput(out);
    const durationS = w.durationUs / 1e6;
    const ok = w.requests - w.non2xx;
    return { ok, non2xx: w.non2xx, errors: w.errors, timeouts: w.timeouts, durationS, rps: ok / durationS, p50Ms: w.p50Us / 1000, p99Ms: w.p99Us / 1000, meanMs: w.meanUs / 1000, cpuS };
  }
  const line = out.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{')) throw new Error(`autocannon printed no result: ${err.trim()}`);
  return { ...(JSON.parse(line) as LoadResult), cpuS };
}

// ---- main ------------------------------------------------------------------------------------

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

async function main(): Promise<void> {
  let parsed: Options | 'help';
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const opts = parsed;
  if (process.platform !== 'linux') throw new Error('the benchmark reads /proc and needs Linux');
  const cores = os.cpus().length;
  if (opts.pin && (spawnSync('taskset', ['-V']).status !== 0 || cores < 2 || Math.max(opts.proxyCore, opts.loadCore) >= cores)) {
    log(`bench: cannot pin to cores ${opts.proxyCore}/${opts.loadCore} (${cores} cores, taskset ${spawnSync('taskset', ['-V']).status === 0 ? 'found' : 'missing: apt-get install -y util-linux'}); running unpinned`);
    opts.pin = false;
  }
  if (opts.pin) spawnSync('taskset', ['-p', '-c', String(opts.loadCore), String(process.pid)], { stdio: 'ignore' });
  const proxyCore = opts.pin ? opts.proxyCore : undefined;
  const loadCore = opts.pin ? opts.loadCore : undefined;

  const perRun = opts.durationS + 2;
  const budgetS =
    120 + opts.targets.length * opts.concurrency.length * (opts.warmupS + 3) + opts.rounds * opts.targets.length * (opts.concurrency.length * perRun + opts.ttfbRequests * 0.02 + 1);
  log(`bench: ${opts.rounds} rounds x ${opts.targets.length} targets x c=${opts.concurrency.join(',')}, ${opts.durationS} s each; expected ${Math.round(budgetS - 100)}-${Math.round(budgetS)} s`);
  const watchdog = setTimeout(() => {
    log(`bench: still running after ${Math.round(budgetS * 2)} s; stopping`);
    stopAll();
    process.exit(1);
  }, budgetS * 2000);

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'llm-router-bench-'));
  const loadavgStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  try {
    // Bundle the helpers and, when it exists, the proxy exactly as the image build does.
    const upstreamsJs = path.join(tmp, 'upstreams.js');
    const loadJs = path.join(tmp, 'load.js');
    const common = { bundle: true, platform: 'node' as const, target: 'node20', format: 'cjs' as const, logLevel: 'warning' as const };
    await build({ ...common, entryPoints: [path.join(__dirname, 'upstreams.ts')], outfile: upstreamsJs });
    await build({ ...common, entryPoints: [path.join(__dirname, 'load.ts')], outfile: loadJs, packages: 'external' });
    const wrk = findWrk();
    if (opts.loadTool === 'wrk' && !wrk) throw new Error(`wrk is not installed; install it with: ${WRK_INSTALL_HINT}`);
    const tool: LoadTool =
      opts.loadTool === 'autocannon' || !wrk ? { name: 'autocannon', path: loadJs } : { name: 'wrk', path: wrk };
    if (!wrk && opts.loadTool === undefined) {
      log(`bench: load generator autocannon (wrk is lighter on the shared load core: ${WRK_INSTALL_HINT})`);
    } else {
      log(`bench: load generator ${tool.name}`);
    }
    const wantProxy = opts.targets.includes('bypass') || opts.targets.includes('scored');
    const proxyEntry = path.join(ROOT, 'proxy', 'src', 'main.ts');
    let proxyJs: string | undefined;
    let altJs: string | undefined;
    if (wantProxy && existsSync(proxyEntry)) {
      proxyJs = path.join(tmp, 'dist', 'main.js');
      // The image runs Node 22 and this script may run on Node 20: the syntax target is the older one.
      await build({ ...proxyBundleOptions(ROOT, proxyJs), target: 'node20', metafile: false });
      mkdirSync(path.join(tmp, 'data'), { recursive: true });
      symlinkSync(path.join(ROOT, 'proxy', 'data', 'exemplars.json'), path.join(tmp, 'data', 'exemplars.json'));
      if (opts.altRoot !== undefined) {
        // Proxy B from another checkout, bundled the same way next to its own routing data.
        altJs = path.join(tmp, 'alt', 'dist', 'main.js');
        // A worktree has no node_modules of its own: packages resolve from this checkout's.
        await build({ ...proxyBundleOptions(opts.altRoot, altJs), target: 'node20', metafile: false, nodePaths: [path.join(ROOT, 'node_modules')] });
        mkdirSync(path.join(tmp, 'alt', 'data'), { recursive: true });
        symlinkSync(path.join(opts.altRoot, 'proxy', 'data', 'exemplars.json'), path.join(tmp, 'alt', 'data', 'exemplars.json'));
      }
    } else if (wantProxy) {
      log('bench: proxy/src/main.ts not found; skipping the proxy targets');
    }

    // Simulated upstreams, all in one process on the load core.
    const sim = { chunks: opts.chunks, chunkIntervalMs: opts.chunkIntervalMs };
    const specs: UpstreamSpec[] = [
      { name: 'small', model: 'llama-3.1-8b', role: 'generate', ...sim },
      { name: 'large', model: 'llama-3.1-70b', role: 'generate', ...sim },
      // nomic-embed-text-v1.5 returns 768 floats; the proxy parses every one of them.
      { name: 'embedding', model: 'nomic-embed-text-v1.5', role: 'embedding', embeddingDims: 768 },
      { name: 'scorer', model: 'qwen2.5-1.5b-instruct', role: 'scorer' },
    ];
    const upstreams = launch(process.execPath, [upstreamsJs, JSON.stringify(specs)], loadCore);
    const ports = JSON.parse(await firstLine(upstreams, 'simulated upstreams', 15_000)) as Record<string, number>;
    const simRoot = (name: string) => `http://127.0.0.1:${ports[name]}`;

    const targets: Target[] = [];
    targets.push({
      name: 'direct',
      url: `${simRoot('small')}/v1/chat/completions`,
      headers: {},
      bodies: [streamBody('llama-3.1-8b', SCORED_PROMPTS[0])],
      pids: () => [],
    });

    if (opts.targets.includes('nginx')) {
      const nginx = findNginx();
      if (!nginx) {
        log(`bench: nginx is not installed; install it with: ${NGINX_INSTALL_HINT}  (continuing without it)`);
      } else {
        const port = await freePort();
        const dir = path.join(tmp, 'nginx');
        const conf = writeNginxConfig(dir, port, ports.small);
        const master = launch(nginx, ['-p', dir, '-c', conf, '-e', path.join(dir, 'logs', 'error.log')], proxyCore);
        master.stdout?.resume();
        let nginxErr = '';
        master.stderr?.on('data', (d: Buffer) => (nginxErr += d.toString()));
        await waitFor('nginx', async () => (await httpJson(`http://127.0.0.1:${port}/health`)).status === 200, 10_000).catch((e: Error) => {
          throw new Error(`${e.message}: ${nginxErr.trim()}`);
        });
        const pid = master.pid as number;
        const workers = (): number[] => childPids(pid);
        targets.push({
          name: 'nginx',
          url: `http://127.0.0.1:${port}/v1/chat/completions`,
          headers: {},
          bodies: [streamBody('llama-3.1-8b', SCORED_PROMPTS[0])],
          pids: () => [pid, ...workers()],
          rssPid: () => workers()[0],
        });
      }
    }

    const proxyLogs: string[] = [];
    /** Starts a bundle of the proxy on `node` and adds its bypassed and scored targets. */
    const startProxy = async (js: string, node: string, names: { bypass: TargetName; scored: TargetName }): Promise<void> => {
      const port = await freePort();
      const config = {
        host: '127.0.0.1',
        port,
        apiKeys: [API_KEY],
        logLevel: 'info',
        tiers: [
          { name: 'small', baseUrl: simRoot('small'), model: 'llama-3.1-8b' },
          { name: 'large', baseUrl: simRoot('large'), model: 'llama-3.1-70b' },
        ],
        router: {
          embedding: { baseUrl: simRoot('embedding'), model: 'nomic-embed-text-v1.5', queryPrefix: 'search_query: ' },
          scorer: { baseUrl: simRoot('scorer'), model: 'qwen2.5-1.5b-instruct' },
          threshold: 0.65,
        },
        metrics: { enabled: false },
        server: { shutdownGraceMs: 1000 },
        // Upstream connections stay pooled between runs, as nginx's do (keepalive_timeout 120s) and
        // as the simulators allow (120 s keep-alive); in AWS the stack sets 50 s for the internal ALB.
        dispatch: { upstreamKeepAliveMs: 120_000 },
      };
      const proxyLog = path.join(tmp, names.bypass === 'bypass' ? 'proxy.log' : 'proxy-b.log');
      proxyLogs.push(proxyLog);
      const fd = openSync(proxyLog, 'w');
      // Request logs go to a file, as they would go to the container's log driver.
      const proxy = launch(node, [js], proxyCore, {
        // The image's environment: NODE_ENV and NODE_OPTIONS as proxy/Dockerfile sets them.
        env: { ...process.env, NODE_ENV: 'production', NODE_OPTIONS: PROXY_NODE_OPTIONS, LLM_ROUTER_CONFIG: JSON.stringify(config), LLM_ROUTER_CONFIG_FILE: '' },
        stdout: fd,
        stderr: fd,
      });
      closeSync(fd);
      const pid = proxy.pid as number;
      const url = `http://127.0.0.1:${port}`;
      await waitFor(
        'routing proxy (exemplar centroids)',
        async () => (await httpJson(`${url}/readyz`)).body?.router?.embedding?.centroids?.ready === true,
        20_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}; proxy log:\n${readFileSync(proxyLog, 'utf8').slice(-2000)}`);
      });
      if (opts.targets.includes(names.bypass)) {
        targets.push({
          name: names.bypass,
          url: `${url}/v1/chat/completions`,
          headers: { authorization: `Bearer ${API_KEY}` },
          bodies: [streamBody('llama-3.1-8b', SCORED_PROMPTS[0])],
          pids: () => [pid],
          rssPid: () => pid,
        });
      }
      if (opts.targets.includes(names.scored)) {
        targets.push({
          name: names.scored,
          url: `${url}/v1/chat/completions`,
          headers: { authorization: `Bearer ${API_KEY}` },
          bodies: SCORED_PROMPTS.map((p) => streamBody('auto', p)),
          pids: () => [pid],
          rssPid: () => pid,
        });
      }
    };
    const nodeVersion = (node: string): string => spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const proxyRuntime = `proxy on Node ${nodeVersion(opts.node)}`;
    const proxyBRuntime = opts.altNode ? `proxy B on Node ${nodeVersion(opts.altNode)}${opts.altRoot ? `, built from ${opts.altRoot}` : ''}` : undefined;
    if (proxyJs) await startProxy(proxyJs, opts.node, { bypass: 'bypass', scored: 'scored' });
    if (proxyJs && opts.altNode) await startProxy(altJs ?? proxyJs, opts.altNode, { bypass: 'bypassB', scored: 'scoredB' });
    targets.sort((x, y) => TARGET_ORDER.indexOf(x.name) - TARGET_ORDER.indexOf(y.name));
    if (proxyJs) log(`bench: ${proxyRuntime}${proxyBRuntime ? `; ${proxyBRuntime}` : ''}`);

    // Integrity before timing: a target that mangles streams is not timed.
    const timed: Target[] = [];
    for (const t of targets) {
      const results = await Promise.all(t.bodies.map((b) => checkStream(t, b, opts.chunks)));
      const bad = results.find((r) => !r.ok);
      const tiers = [...new Set(results.map((r) => r.tier).filter(Boolean))];
      if (bad) log(`integrity  FAIL  ${TARGET_LABELS[t.name]}: ${bad.detail} (not timed)`);
      else {
        log(`integrity  ok    ${TARGET_LABELS[t.name]}: ${results.length} streams, ${opts.chunks} chunks each, [DONE]${tiers.length ? `, tiers ${tiers.join('/')}` : ''}`);
        timed.push(t);
      }
    }

    const specFor = (t: Target, c: number, d: number): LoadSpec => ({ url: t.url, connections: c, durationS: d, bodies: t.bodies, headers: t.headers });
    // Steady state, not start-up, is timed. Under c=64 load the proxy's V8 keeps tiering functions up
    // to TurboFan and deoptimizing them on new object shapes for 10-15 s (about 350 optimizations in
    // the first 10 s, 100 in the next 5, 30-80 in the 5 after that), and the first run after a 3 s
    // warm-up had a p99 10-15 ms above the later ones. Every concurrency and the TTFB probe are warmed:
    // without them the c=64 run right after the first c=256 runs and probes was the slowest of its target.
    if (opts.warmupS > 0) {
      for (const c of opts.concurrency) {
        for (const t of timed) await runLoad(tool, tmp, opts, specFor(t, c, opts.warmupS));
      }
      // The one-token streams of the TTFB probe too: new shapes deoptimize code warmed on long streams.
      for (const t of timed) await ttfbProbe(t, opts.ttfbRequests);
      log('warm-up done');
    }

    const samples: RunSample[] = [];
    const ttfb: TtfbSample[] = [];
    for (let round = 0; round < opts.rounds; round++) {
      // Rotate the order each round so no target always runs first or after the same neighbour.
      const order = timed.map((_, i) => timed[(i + round) % timed.length]);
      for (const c of opts.concurrency) {
        for (const t of order) {
          const rssPid = t.rssPid?.();
          // Each run reports its own peak: VmHWM restarts from the current RSS.
          if (rssPid !== undefined) resetPeakRss(rssPid);
          const pids = t.pids();
          const cpu0 = pids.length ? cpuSecondsOf(pids) : 0;
          const sys0 = pids.length ? systemSecondsOf(pids) : 0;
          const up0 = cpuSecondsOf([upstreams.pid as number]);
          const r = await runLoad(tool, tmp, opts, specFor(t, c, opts.durationS));
          const cpu1 = pids.length ? cpuSecondsOf(t.pids()) : 0;
          const sys1 = pids.length ? systemSecondsOf(t.pids()) : 0;
          const up1 = cpuSecondsOf([upstreams.pid as number]);
          const sample: RunSample = {
            target: t.name,
            concurrency: c,
            rps: r.rps,
            p50Ms: r.p50Ms,
            p99Ms: r.p99Ms,
            failed: r.non2xx + r.errors + r.timeouts,
            cpuMsPerReq: pids.length && r.ok > 0 ? ((cpu1 - cpu0) * 1000) / r.ok : undefined,
            systemMsPerReq: pids.length && r.ok > 0 ? ((sys1 - sys0) * 1000) / r.ok : undefined,
            peakRssMiB: rssPid !== undefined ? peakRssMiB(rssPid) : undefined,
            loadCorePct: ((up1 - up0 + r.cpuS) / r.durationS) * 100,
          };
          samples.push(sample);
          log(
            `round ${round + 1}/${opts.rounds}  c=${String(c).padEnd(4)} ${TARGET_LABELS[t.name].padEnd(24)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms` +
              (sample.cpuMsPerReq !== undefined ? `  CPU ${sample.cpuMsPerReq.toFixed(3)} ms/req` : '') +
              (sample.peakRssMiB !== undefined ? `  RSS ${sample.peakRssMiB.toFixed(0)} MiB` : '') +
              `  load core ${(sample.loadCorePct ?? 0).toFixed(0)}% (upstreams ${(((up1 - up0) / r.durationS) * 100).toFixed(0)}%)` +
              (sample.failed ? `  failed ${sample.failed}` : ''),
          );
          await new Promise((res) => setTimeout(res, 300));
        }
      }
      for (const t of order) {
        const ms = await ttfbProbe(t, opts.ttfbRequests);
        ttfb.push({ target: t.name, medianMs: ms });
        log(`round ${round + 1}/${opts.rounds}  c=1    ${TARGET_LABELS[t.name].padEnd(24)} TTFB median ${ms.toFixed(3)} ms`);
      }
    }

    const loadavgEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const { rows, ttfb: ttfbRows } = summarize(samples, ttfb, opts.chunks);
    const checks = evaluate(rows, ttfbRows);
    const nginxVersion = spawnSync(findNginx() ?? 'nginx', ['-v'], { encoding: 'utf8' }).stderr?.trim() ?? '';
    process.stdout.write(
      `\nllm-tier-router benchmark  ${new Date().toISOString()}\n` +
        `${os.cpus()[0]?.model ?? 'cpu'} x${cores}, bench on Node ${process.version}${nginxVersion ? `, ${nginxVersion.replace('nginx version: ', '')}` : ''}; ` +
        (opts.pin ? `proxy/nginx on core ${opts.proxyCore}, upstreams + ${tool.name} on core ${opts.loadCore}` : `unpinned, load generator ${tool.name}`) +
        `\nworkload: streams of ${opts.chunks} chunks ${opts.chunkIntervalMs} ms apart; ${opts.rounds} rounds x ${opts.durationS} s per run, medians; ` +
        `TTFB: ${opts.ttfbRequests} sequential 1-token streams per round\n` +
        (proxyJs ? `${proxyRuntime}${proxyBRuntime ? `\n${proxyBRuntime}` : ''}\n` : '') +
        `load average at start ${loadavgStart}, at end ${loadavgEnd}` +
        (Number(loadavgStart.split(' ')[0]) > 0.5 ? '  (other work was running: figures may be noisy)' : '') +
        `\n\n${formatReport(rows, ttfbRows, checks)}\n`,
    );
    for (const proxyLog of proxyLogs) {
      const lines = readFileSync(proxyLog, 'utf8').split('\n').filter(Boolean);
      const problems = lines.filter((l) => /"level":(40|50|60)/.test(l));
      process.stdout.write(`\n${path.basename(proxyLog)}: ${lines.length} lines, ${problems.length} warnings or errors${problems.length ? `; first: ${problems[0].slice(0, 300)}` : ''}\n`);
    }
  } finally {
    clearTimeout(watchdog);
    stopAll();
    await new Promise((r) => setTimeout(r, 300));
    if (opts.keepTemp) log(`bench: temp files kept in ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`bench: ${sig}, stopping`);
    stopAll();
    process.exit(130);
  });
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`bench: ${e.message}\n`);
    stopAll();
    process.exit(1);
  },
);
