/**
 * From a model and the user's settings to one simulation: traffic shape and rate, tier shares,
 * token sizes, boot times and serving speeds, each default stated where it is chosen.
 */
import { ConfigError } from '../../contracts/validation';
import { catalogModel, defaultBootSeconds, MODEL_PERFORMANCE, ModelPerformance, ROUTER_SECONDS_PER_REQUEST } from './assumptions';
import { localTime } from './cron';
import { simulate, SimOptions, SimOutcome, TRACKING_ALARMS, TrackingAlarmShape } from './engine';
import type { FleetModel, SimModel } from './model';
import { betaCdf, csvTrace, lognormalBuckets, shapeTrace, Trace, TRACE_SHAPES, TraceShape } from './traces';

/** What the user chose (every field has a default). */
export interface RunSettings {
  /** A built-in shape or the path of a CSV of requests. @default "diurnal" */
  readonly trace?: string;
  /** Simulated hours. @default 24 (a CSV: its own length) */
  readonly hours?: number;
  /** Peak request rate, requests per second. @default `load` x the environment's maximum rate */
  readonly rate?: number;
  /** Peak as a fraction of the environment's maximum rate. @default 0.8 */
  readonly load?: number;
  /** Start: ISO-8601 (an offset, or local time in `timeZone`). @default Monday 2025-06-02 00:00 local */
  readonly start?: string;
  /** Time zone of the shapes' business hours. @default the scheduled actions' time zone, else UTC */
  readonly timeZone?: string;
  /** @default 1 */
  readonly seed?: number;
  /** Share of requests the last (largest) tier gets. @default the config's workload.largeShare */
  readonly largeShare?: number;
  /** Share of requests per tier name (must cover every tier and sum to 1). */
  readonly shares?: Readonly<Record<string, number>>;
  /** Routing scores as Beta(a, b); each tier's share follows from the proxy's boundaries. */
  readonly scoreBeta?: readonly [number, number];
  /** Mean output tokens per request. @default the config's workload.outputTokensPerRequest */
  readonly outputTokens?: number;
  /** Coefficient of variation of output lengths (lognormal). @default 0.8 */
  readonly outputCv?: number;
  /** Prompt tokens per request. @default 1000 */
  readonly promptTokens?: number;
  /** Share of streamed requests. @default 1 */
  readonly streamShare?: number;
  /** First-token deadline of streamed requests, ms. @default the proxy document's dispatch.firstTokenTimeoutMs */
  readonly firstTokenTimeoutMs?: number;
  /** Wait-bounded admission at this share of the deadline (see SimOptions). @default none: every request admitted */
  readonly admissionWaitShare?: number;
  /** Boot seconds per fleet, overriding the estimate. */
  readonly boot?: Readonly<Record<string, number>>;
  /** Single-stream and full-batch output tokens/s per tier, overriding the catalog assumption. */
  readonly tps?: Readonly<Record<string, { single: number; full: number }>>;
  /** `burst` / `flash`: when the event starts, hours from the start. @default a quarter of the run */
  readonly eventAtHours?: number;
  /** `burst`: how long it lasts, minutes. @default 60 */
  readonly eventMinutes?: number;
  /** `burst` / `flash`: the rate outside the event, as a fraction of the peak. @default 0.3 / 0.2 */
  readonly baseFraction?: number;
  /** Instances in service at the start, per fleet. @default the minimum in effect */
  readonly initial?: Readonly<Record<string, number>>;
  readonly trackingAlarms?: TrackingAlarmShape;
  readonly onProgress?: (fraction: number) => void;
}

/** The traffic assumptions a config carries (the template has none). */
export interface WorkloadDefaults {
  readonly largeShare: number;
  readonly outputTokensPerRequest: number;
}

/** A prepared run: the options handed to the engine and what they were derived from. */
export interface PreparedRun {
  readonly options: SimOptions;
  readonly traceName: string;
  readonly timeZone: string;
  /** Requests per second the fleets serve at their maximum sizes with every sequence slot busy. */
  readonly maxRate: number;
  /** The shape's peak (undefined for a CSV). */
  readonly peak?: number;
  readonly tierShares: readonly number[];
  readonly bootNotes: Readonly<Record<string, string>>;
  /** Requests per second one instance of each fleet serves with every slot busy. */
  readonly perInstanceRate: Readonly<Record<string, number>>;
  readonly assumptions: readonly string[];
}

const OPTIONS = 'fleet-sim options';

/** Epoch ms of a local wall-clock time in a time zone. */
export function localToEpoch(y: number, mo: number, d: number, h: number, mi: number, timeZone: string): number {
  let guess = Date.UTC(y, mo - 1, d, h, mi);
  for (let i = 0; i < 3; i++) {
    const t = localTime(guess, timeZone);
    const shown = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute);
    guess += Date.UTC(y, mo - 1, d, h, mi) - shown;
  }
  return guess;
}

function defaultTimeZone(model: SimModel): string {
  for (const f of model.fleets) for (const a of f.scheduledActions) return a.timeZone;
  return model.prewarms[0]?.timeZone ?? 'UTC';
}

function parseStart(start: string | undefined, timeZone: string): number {
  if (start === undefined) return localToEpoch(2025, 6, 2, 0, 0, timeZone);
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?$/.exec(start);
  if (local) return localToEpoch(Number(local[1]), Number(local[2]), Number(local[3]), Number(local[4] ?? 0), Number(local[5] ?? 0), timeZone);
  const ms = Date.parse(start);
  if (Number.isNaN(ms)) throw new ConfigError([`--start: got "${start}", expected an ISO-8601 date such as 2025-06-02T08:00 (local) or 2025-06-02T12:00Z`], OPTIONS);
  return ms;
}

/** Seconds one request occupies a slot on a tier instance with every slot busy. */
function secondsPerRequest(perf: ModelPerformance, seqs: number, output: number, prompt: number): number {
  const t0 = 1 / perf.singleStreamTps;
  const k = Math.max(0, (perf.referenceSeqs / perf.fullBatchTps - t0) / perf.referenceSeqs);
  return (t0 + k * seqs) * output + prompt / perf.prefillTps;
}

function performanceOf(fleet: FleetModel, settings: RunSettings): ModelPerformance {
  const server = fleet.servers[0];
  const model = catalogModel(server);
  const base = model ? MODEL_PERFORMANCE[model.name] : undefined;
  const override = settings.tps?.[fleet.name];
  if (!base && !override) {
    throw new ConfigError([`--tps: got no serving speed for tier "${fleet.name}" (model ${server.hubModelId}), expected ${fleet.name}=<single-stream tok/s>:<full-batch tok/s>`], OPTIONS);
  }
  const ref = base ?? { singleStreamTps: 0, fullBatchTps: 0, referenceSeqs: server.maxNumSeqs, prefillTps: 5000 };
  return override ? { ...ref, singleStreamTps: override.single, fullBatchTps: override.full, referenceSeqs: server.maxNumSeqs } : ref;
}

/** Builds the engine's options; throws ConfigError listing every bad setting. */
export function prepareRun(model: SimModel, workload: WorkloadDefaults, settings: RunSettings = {}): PreparedRun {
  const problems: string[] = [];
  const assumptions: string[] = [...model.proxy.notes];
  const tiers = model.fleets.filter((f) => f.kind === 'tier');
  const timeZone = settings.timeZone ?? defaultTimeZone(model);
  try {
    localTime(0, timeZone);
  } catch {
    problems.push(`--tz: got "${timeZone}", expected an IANA time zone such as America/New_York`);
  }
  const startMs = problems.length ? 0 : parseStart(settings.start, timeZone);

  // Tier shares: a Beta distribution of routing scores cut at the proxy's boundaries, or the large share.
  let shares: number[];
  if (settings.shares) {
    const given = settings.shares;
    for (const name of Object.keys(given)) {
      if (!tiers.some((f) => f.name === name)) problems.push(`--shares: got tier "${name}", expected one of ${tiers.map((f) => f.name).join(', ')}`);
    }
    shares = tiers.map((f) => given[f.name] ?? 0);
    const sum = shares.reduce((a, b) => a + b, 0);
    if (shares.some((x) => !(x >= 0)) || Math.abs(sum - 1) > 1e-6) problems.push(`--shares: got ${tiers.map((f, i) => `${f.name}=${shares[i]}`).join(',')}, expected shares >= 0 that sum to 1`);
  } else if (settings.scoreBeta) {
    const [a, b] = settings.scoreBeta;
    const cuts = [0, ...model.proxy.boundaries, 1];
    shares = tiers.map((_, i) => betaCdf(cuts[i + 1], a, b) - betaCdf(cuts[i], a, b));
    assumptions.push(`routing scores ~ Beta(${a}, ${b}) cut at ${model.proxy.boundaries.join(', ')}`);
  } else {
    const large = settings.largeShare ?? workload.largeShare;
    if (!(large >= 0 && large <= 1)) problems.push(`--large-share: got ${large}, expected a number in [0, 1]`);
    if (tiers.length > 2 && settings.largeShare === undefined) problems.push(`--score-beta: got nothing, expected a score distribution for ${tiers.length} tiers (a large share alone fits two)`);
    shares = tiers.map((_, i) => (i === tiers.length - 1 ? large : i === 0 ? 1 - large : 0));
  }

  const outputMean = settings.outputTokens ?? workload.outputTokensPerRequest;
  const cv = settings.outputCv ?? 0.8;
  const prompt = settings.promptTokens ?? 1000;
  const streamShare = settings.streamShare ?? 1;
  if (!(outputMean >= 1)) problems.push(`--output-tokens: got ${outputMean}, expected at least 1`);
  if (!(cv >= 0)) problems.push(`--output-cv: got ${cv}, expected a number >= 0`);
  if (!(prompt >= 0)) problems.push(`--prompt-tokens: got ${prompt}, expected a number >= 0`);
  if (!(streamShare >= 0 && streamShare <= 1)) problems.push(`--stream-share: got ${streamShare}, expected a number in [0, 1]`);
  const firstToken = settings.firstTokenTimeoutMs ?? model.proxy.firstTokenTimeoutMs;
  if (!(Number.isInteger(firstToken) && firstToken >= 1000)) problems.push(`--first-token-timeout-ms: got ${firstToken}, expected whole milliseconds >= 1000`);
  const admission = settings.admissionWaitShare;
  if (admission !== undefined && !(admission > 0 && admission <= 1)) problems.push(`--admit-wait: got ${admission}, expected a share of the deadline in (0, 1]`);

  const bootSeconds: Record<string, number> = {};
  const bootNotes: Record<string, string> = {};
  for (const f of model.fleets) {
    const given = settings.boot?.[f.name];
    if (given !== undefined) {
      if (!(given > 0)) problems.push(`--boot: got ${given} for ${f.name}, expected seconds > 0`);
      bootSeconds[f.name] = given;
      bootNotes[f.name] = 'given';
      continue;
    }
    const est = defaultBootSeconds(f);
    if (!est) {
      problems.push(`--boot: got no boot time for ${f.name} (model ${f.servers.map((s) => s.hubModelId).join(', ')} is not in the catalog), expected ${f.name}=<seconds>`);
      continue;
    }
    bootSeconds[f.name] = est.seconds;
    bootNotes[f.name] = est.parts;
  }
  for (const name of Object.keys(settings.boot ?? {})) {
    if (!model.fleets.some((f) => f.name === name)) problems.push(`--boot: got fleet "${name}", expected one of ${model.fleets.map((f) => f.name).join(', ')}`);
  }
  for (const name of Object.keys(settings.tps ?? {})) {
    if (!tiers.some((f) => f.name === name)) problems.push(`--tps: got tier "${name}", expected one of ${tiers.map((f) => f.name).join(', ')}`);
  }

  const performance: Record<string, ModelPerformance> = {};
  const perInstanceRate: Record<string, number> = {};
  for (const f of tiers) {
    try {
      performance[f.name] = performanceOf(f, settings);
      const seqs = f.servers[0].maxNumSeqs;
      perInstanceRate[f.name] = seqs / secondsPerRequest(performance[f.name], seqs, outputMean, prompt);
    } catch (e) {
      if (e instanceof ConfigError) problems.push(...e.issues);
      else throw e;
    }
  }
  const router = model.fleets.find((f) => f.kind === 'router');
  if (router) {
    perInstanceRate[router.name] = router.servers.reduce((m, s) => Math.min(m, s.maxNumSeqs / (ROUTER_SECONDS_PER_REQUEST[s.role] ?? 1)), Infinity);
  }
  if (problems.length) throw new ConfigError(problems, OPTIONS);

  let maxRate = Infinity;
  tiers.forEach((f, i) => {
    if (shares[i] > 0) maxRate = Math.min(maxRate, (f.maxSize * perInstanceRate[f.name]) / shares[i]);
  });
  if (router) maxRate = Math.min(maxRate, router.maxSize * perInstanceRate[router.name]);

  const traceName = settings.trace ?? 'diurnal';
  let trace: Trace;
  let peak: number | undefined;
  let hours = settings.hours ?? 24;
  if ((TRACE_SHAPES as readonly string[]).includes(traceName)) {
    const load = settings.load ?? 0.8;
    peak = settings.rate ?? load * maxRate;
    if (!(peak >= 0) || !Number.isFinite(peak)) throw new ConfigError([`--rate: got ${peak}, expected requests per second >= 0`], OPTIONS);
    const shape = traceName as TraceShape;
    trace = shapeTrace(shape, {
      peak,
      startMs,
      timeZone,
      eventAt: Math.round((settings.eventAtHours ?? hours / 4) * 3600),
      eventSeconds: Math.round((settings.eventMinutes ?? 60) * 60),
      baseFraction: settings.baseFraction ?? (shape === 'flash' ? 0.2 : 0.3),
    });
  } else if (traceName.toLowerCase().endsWith('.csv')) {
    trace = csvTrace(traceName);
    if (trace.kind === 'requests' && settings.hours === undefined) hours = trace.durationSeconds / 3600;
  } else {
    throw new ConfigError([`--trace: got "${traceName}", expected one of ${TRACE_SHAPES.join(', ')} or the path of a .csv file`], OPTIONS);
  }
  if (!(hours > 0) || hours > 24 * 31) throw new ConfigError([`--hours: got ${hours}, expected more than 0 and at most ${24 * 31}`], OPTIONS);

  assumptions.push(
    `output tokens lognormal, mean ${outputMean}, CV ${cv}; prompt ${prompt} tokens; ${Math.round(streamShare * 100)}% streamed`,
    `a streamed request waiting at vLLM is ended at the first-token deadline (${firstToken / 1000} s${settings.firstTokenTimeoutMs === undefined ? ', the proxy document\'s' : ', given'}); ${admission === undefined ? 'every request admitted' : `a request whose estimated wait exceeds ${Math.round(admission * 100)}% of its deadline is refused with a 503`}`,
    `tier shares ${tiers.map((f, i) => `${f.name} ${(shares[i] * 100).toFixed(1)}%`).join(', ')}`,
    `serving speed (single-stream / full-batch output tok/s): ${tiers.map((f) => `${f.name} ${performance[f.name].singleStreamTps}/${performance[f.name].fullBatchTps} at ${performance[f.name].referenceSeqs} seqs`).join(', ')}`,
    `boot to healthy vLLM: ${model.fleets.map((f) => `${f.name} ${bootSeconds[f.name]} s (${bootNotes[f.name]})`).join('; ')}`,
  );

  const options: SimOptions = {
    durationSeconds: Math.round(hours * 3600),
    startMs,
    seed: settings.seed ?? 1,
    trace,
    tierShares: shares,
    outputTokenSizes: lognormalBuckets(outputMean, cv, 4),
    promptTokens: prompt,
    streamShare,
    firstTokenTimeoutMs: settings.firstTokenTimeoutMs,
    admissionWaitShare: admission,
    bootSeconds,
    performance,
    trackingAlarms: settings.trackingAlarms ?? TRACKING_ALARMS,
    initialInstances: settings.initial,
    onProgress: settings.onProgress,
  };
  return { options, traceName: trace.name, timeZone, maxRate, peak, tierShares: shares, bootNotes, perInstanceRate, assumptions };
}

/** Prepares and runs in one call. */
export function runSimulation(model: SimModel, workload: WorkloadDefaults, settings: RunSettings = {}): { prepared: PreparedRun; outcome: SimOutcome } {
  const prepared = prepareRun(model, workload, settings);
  return { prepared, outcome: simulate(model, prepared.options) };
}
