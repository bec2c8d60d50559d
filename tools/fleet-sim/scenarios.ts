/**
 * The scaling checks every environment should pass, run on its synthesized template:
 * 1. steady full load gives zero churn, no scale-in undone by a launch, and nothing refused or
 *    dropped once settled;
 * 2. the first request to a tier at zero capacity starts an instance within the alarm's window;
 * 3. night traffic returns every fleet to its minimum;
 * 4. a burst is absorbed within boot time plus the alarm window, no request dropped (held, or
 *    refused with a clean 503, is fine).
 */
import { evaluationInterval } from './alarm';
import { boundsAt, CHURN_WINDOW_SECONDS, FleetOutcome, SimOutcome, TRACKING_ALARMS } from './engine';
import type { FleetModel, SimModel } from './model';
import { localToEpoch, PreparedRun, runSimulation, RunSettings, WorkloadDefaults } from './run';
import { diurnalFraction } from './traces';

/** The outcome of one scenario. */
export interface ScenarioResult {
  readonly name: string;
  /** False when the environment has nothing the scenario could test (it then passes). */
  readonly applicable: boolean;
  readonly pass: boolean;
  /** One line on what happened. */
  readonly summary: string;
  /** Every violated expectation, `fleet: what happened, expected what`. */
  readonly failures: readonly string[];
  /** The run behind it (for charts and details). */
  readonly run?: { readonly prepared: PreparedRun; readonly outcome: SimOutcome };
}

/**
 * Full load: 85% of the rate the fleets serve at their maximum sizes with every sequence slot busy.
 * With the default 70% running target, the large tier at its maximum size reaches its target at
 * ~83% of that rate, so at full load every tier that binds sits at its maximum size.
 */
export const FULL_LOAD = 0.85;
/** Hours a run may spend settling before steady-state checks apply. */
export const SETTLE_HOURS = 1;
/**
 * A queue counts as drained when, over every window of {@link DRAINED_WINDOW_MINUTES} minutes, its
 * requests waited under this many seconds on average (Little's law: mean waiting / arrival rate).
 * At 85% of a tier's full-slot rate a single minute of a 16-slot tier still queues for tens of
 * seconds by chance; a wait of this order over ten minutes is a backlog a person notices.
 */
export const DRAINED_WAIT_SECONDS = 15;
/** Minutes over which a queue's wait is averaged when judging it drained. */
export const DRAINED_WINDOW_MINUTES = 10;
/** Share of the requests after the settling hour a steady run may lose to queueing at full load. */
export const STEADY_LOSS_TOLERANCE = 0.01;

/** The fixed calendar of the scenarios: Monday 2 June 2025 in the environment's time zone. */
const MONDAY = { y: 2025, m: 6, d: 2 };

/** Scenario settings shared by every run. */
export interface ScenarioOptions {
  readonly seed?: number;
  /** Extra run settings (boot times, speeds) applied to every scenario. */
  readonly settings?: RunSettings;
}

/**
 * Seconds from the moment a fleet needs capacity until a scale-out alarm acts: the longest window of
 * its scale-out alarms (period x datapoints) plus the evaluation interval. Undefined when no policy
 * scales it out.
 */
export function scaleOutAlarmWindow(fleet: FleetModel): number | undefined {
  const windows: number[] = [];
  for (const p of fleet.stepPolicies) {
    if (!p.steps.some((s) => s.adjustment > 0)) continue;
    for (const a of p.alarms) windows.push(a.period * a.evaluationPeriods + evaluationInterval(a.period));
  }
  for (const p of fleet.trackingPolicies) {
    windows.push(p.query.period * TRACKING_ALARMS.highDatapoints + evaluationInterval(p.query.period));
  }
  return windows.length ? Math.max(...windows) : undefined;
}

/** Seconds from vLLM healthy until the load balancer sends traffic (health checks in a row). */
function registrationSeconds(f: FleetModel): number {
  return f.healthCheckIntervalSeconds * f.healthyThresholdCount;
}

function timeZoneOf(model: SimModel, settings?: RunSettings): string {
  if (settings?.timeZone) return settings.timeZone;
  for (const f of model.fleets) for (const a of f.scheduledActions) return a.timeZone;
  return model.prewarms[0]?.timeZone ?? 'UTC';
}

function local(day: number, hour: number, tz: string): string {
  const ms = localToEpoch(MONDAY.y, MONDAY.m, MONDAY.d + day, hour, 0, tz);
  return new Date(ms).toISOString();
}

function sum(a: ArrayLike<number>, from = 0, to = a.length): number {
  let s = 0;
  for (let i = Math.max(0, from); i < Math.min(to, a.length); i++) s += a[i];
  return s;
}

function tiersOf(outcome: SimOutcome): FleetOutcome[] {
  return outcome.fleets.filter((f) => f.kind === 'tier');
}

/**
 * Steady full load: no instance terminated within 30 minutes of launch, no instance terminated and
 * replaced by a launch within 30 minutes (a scale-in that a scale-out undoes), nothing lost once settled.
 */
export function steadyFullLoad(model: SimModel, workload: WorkloadDefaults, o: ScenarioOptions = {}): ScenarioResult {
  const tz = timeZoneOf(model, o.settings);
  const hours = 6;
  const run = runSimulation(model, workload, { ...o.settings, trace: 'steady', load: FULL_LOAD, hours, start: local(0, 10, tz), seed: o.seed });
  const settle = SETTLE_HOURS * 3600;
  const failures: string[] = [];
  let lost = 0;
  let routed = 0;
  for (const f of run.outcome.fleets) {
    const churned = f.terminated.filter((t) => t.goneAt >= settle && t.goneAt - t.launchAt < CHURN_WINDOW_SECONDS);
    if (churned.length > 0) {
      failures.push(`${f.name}: ${churned.length} instance(s) terminated within ${CHURN_WINDOW_SECONDS / 60} min of launch (first launched at ${fmt(churned[0].launchAt)}, gone at ${fmt(churned[0].goneAt)}), expected zero churn at a steady load`);
    }
    // Scale-in undone by a scale-out: two policies acting against each other on the same load.
    const reversed = f.terminated.filter((t) => t.goneAt >= settle && f.launchedAt.some((l) => l >= t.goneAt && l - t.goneAt < CHURN_WINDOW_SECONDS));
    if (reversed.length > 0) {
      const r = reversed[0];
      failures.push(`${f.name}: ${reversed.length} scale-in(s) reversed by a launch within ${CHURN_WINDOW_SECONDS / 60} min (first: terminated at ${fmt(r.goneAt)}, next launch at ${fmt(f.launchedAt.find((l) => l >= r.goneAt) as number)}), expected a steady load to keep its fleet`);
    }
    if (f.kind !== 'tier') continue;
    lost += sum(f.timeline.refused, settle / 60) + sum(f.timeline.dropped, settle / 60);
    routed += sum(f.timeline.arrivals, settle / 60);
  }
  if (lost > STEADY_LOSS_TOLERANCE * routed) {
    failures.push(`tiers: ${lost} of ${routed} request(s) refused or dropped after the first hour, expected at most ${STEADY_LOSS_TOLERANCE * 100}% at a load the fleets can serve`);
  }
  const rate = run.prepared.peak ?? 0;
  return {
    name: 'steady full load gives zero churn',
    applicable: true,
    pass: failures.length === 0,
    summary: `${rate.toFixed(2)} req/s (${FULL_LOAD * 100}% of ${run.prepared.maxRate.toFixed(2)}) for ${hours} h: churn ${run.outcome.fleets.map((f) => `${f.name} ${f.churn}`).join(', ')}`,
    failures,
    run,
  };
}

/**
 * For every tier whose minimum is zero on a weekend night: a trickle of requests for that tier alone,
 * and the first launch must come within its scale-out alarm window of the first request, with no
 * request dropped meanwhile.
 */
export function firstRequestFromZero(model: SimModel, workload: WorkloadDefaults, o: ScenarioOptions = {}): ScenarioResult[] {
  const tz = timeZoneOf(model, o.settings);
  const start = local(5, 3, tz);
  const startMs = Date.parse(start);
  const zero = model.fleets.filter((f) => f.kind === 'tier' && boundsAt(f, startMs).min === 0);
  if (zero.length === 0) {
    return [{
      name: 'first request to a tier at zero starts an instance within the alarm window',
      applicable: false,
      pass: true,
      summary: 'no tier has a minimum of zero (override one with -c tiers.<name>.minCapacity=0 to check it)',
      failures: [],
    }];
  }
  return zero.map((tier) => {
    const shares = Object.fromEntries(model.fleets.filter((f) => f.kind === 'tier').map((f) => [f.name, f.name === tier.name ? 1 : 0]));
    const run = runSimulation(model, workload, { ...o.settings, trace: 'steady', rate: 0.1, hours: 1, start, shares, seed: o.seed, initial: { [tier.name]: 0 } });
    const out = run.outcome.fleets.find((f) => f.name === tier.name) as FleetOutcome;
    const window = scaleOutAlarmWindow(tier);
    const failures: string[] = [];
    const first = out.firstArrivalAt;
    const launch = out.launchedAt[0];
    if (first === undefined) failures.push(`${tier.name}: no request arrived, expected a trickle of 0.1 req/s`);
    else if (window === undefined) failures.push(`${tier.name}: no scaling policy scales it out, expected one that starts it from zero`);
    else if (launch === undefined) failures.push(`${tier.name}: no instance started within the hour after the first request (at ${fmt(first)}), expected a launch within ${window} s`);
    else if (launch - first > window) failures.push(`${tier.name}: first instance launched ${launch - first} s after the first request, expected within the alarm window (${window} s)`);
    const dropped = run.outcome.fleets.reduce((n, f) => n + f.dropped, 0);
    if (dropped > 0) failures.push(`${tier.name}: ${dropped} request(s) dropped, expected each held, served or refused with a clean 503`);
    return {
      name: `first request to ${tier.name} at zero starts an instance within the alarm window`,
      applicable: true,
      pass: failures.length === 0,
      summary: first === undefined ? 'no request' : launch === undefined
        ? `first request at ${fmt(first)}, no launch in 1 h (${out.refused} refused, ${out.held} held, ${out.spilledOut} spilled)`
        : `first request at ${fmt(first)}, launch at ${fmt(launch)} (window ${window ?? '-'} s)`,
      failures,
      run,
    };
  });
}

/**
 * A business day then a night: at 05:00 on the second day every fleet is back at its minimum (or at
 * the instance the night's trickle needs, for a tier whose minimum is zero).
 */
export function nightReturnsToMinimum(model: SimModel, workload: WorkloadDefaults, o: ScenarioOptions = {}): ScenarioResult {
  const tz = timeZoneOf(model, o.settings);
  const hours = 29;
  const run = runSimulation(model, workload, { ...o.settings, trace: 'diurnal', load: FULL_LOAD, hours, start: local(0, 0, tz), seed: o.seed });
  const endMs = run.outcome.startMs + hours * 3600_000;
  const last = Math.ceil(hours * 60) - 1;
  const failures: string[] = [];
  const peak = run.prepared.peak ?? 0;
  const nightRate = peak * diurnalFraction(5, 2);
  const tierModels = model.fleets.filter((f) => f.kind === 'tier');
  for (const f of run.outcome.fleets) {
    const fm = model.fleets.find((x) => x.name === f.name) as FleetModel;
    const { min } = boundsAt(fm, endMs);
    let floor = min;
    if (f.kind === 'tier') {
      const i = tierModels.findIndex((x) => x.name === f.name);
      const rate = nightRate * run.prepared.tierShares[i];
      floor = Math.max(min, Math.ceil(rate / (run.prepared.perInstanceRate[f.name] * 0.7) - 1e-9));
    }
    const active = f.timeline.booting[last] + f.timeline.serving[last];
    if (f.finalDesired > floor || active > floor) {
      failures.push(`${f.name}: ${f.finalDesired} desired and ${active} running at 05:00 after the night, expected at most ${floor} (minimum ${min})`);
    }
  }
  const peaks = run.outcome.fleets.map((f) => `${f.name} ${f.peakInstances}->${f.finalDesired}`).join(', ');
  return {
    name: 'night traffic returns every fleet to its minimum',
    applicable: true,
    pass: failures.length === 0,
    summary: `diurnal at ${peak.toFixed(2)} req/s peak, Monday 00:00 to Tuesday 05:00: peak->final ${peaks}`,
    failures,
    run,
  };
}

/**
 * Slack on the drain time a tier's spare capacity allows: Poisson arrivals and lognormal output
 * lengths make the backlog's fall uneven, and the per-instance rate is that of the mean request.
 */
export const DRAIN_SLACK = 1.25;

/**
 * Fleets at their night minimum meet a one-hour burst at full load. Absorbed means:
 * - no request dropped at any time (held, or refused with a clean 503, is fine while capacity starts);
 * - by the burst's start plus the longest boot, health-check registration and scale-out alarm window
 *   (`absorbedBy`), every tier serves with at least the instances the burst's rate needs with every
 *   sequence slot busy (its maximum, for the tier that binds), and refuses nothing from then on;
 * - the backlog queued at vLLM while capacity started then drains as fast as the spare capacity
 *   allows (backlog / (capacity - arrival rate), times {@link DRAIN_SLACK}), and stays drained for
 *   the rest of the burst ({@link DRAINED_WAIT_SECONDS} mean wait over {@link DRAINED_WINDOW_MINUTES}).
 * The proxy queues a burst's streams at vLLM up to its rendered first-token deadline rather than
 * refusing them, so at 85% of the maximum rate a backlog of a boot's length takes longer than the
 * boot to drain whatever the scaling policy; a policy that starts too little or too late fails the
 * capacity check or the drain time.
 */
export function burstAbsorbed(model: SimModel, workload: WorkloadDefaults, o: ScenarioOptions = {}): ScenarioResult {
  const tz = timeZoneOf(model, o.settings);
  const burstAt = 3600;
  const burstMinutes = 60;
  const run = runSimulation(model, workload, {
    ...o.settings, trace: 'burst', load: FULL_LOAD, hours: 3, start: local(0, 2, tz), eventAtHours: burstAt / 3600, eventMinutes: burstMinutes, baseFraction: 0.1, seed: o.seed,
  });
  const tiers = model.fleets.filter((f) => f.kind === 'tier');
  const boot = Math.max(...tiers.map((f) => run.prepared.options.bootSeconds[f.name] + registrationSeconds(f)));
  const windows = tiers.map(scaleOutAlarmWindow).filter((x): x is number => x !== undefined);
  const alarm = windows.length ? Math.max(...windows) : 0;
  const absorbedBy = burstAt + boot + alarm;
  const end = burstAt + burstMinutes * 60;
  const failures: string[] = [];
  const drained = DRAINED_WAIT_SECONDS;
  const peak = run.prepared.peak ?? 0;
  const from = Math.ceil(absorbedBy / 60);
  const meanWait = (f: FleetOutcome, m: number): number => {
    const arrived = sum(f.timeline.arrivals, m, m + DRAINED_WINDOW_MINUTES) / (DRAINED_WINDOW_MINUTES * 60);
    const waiting = sum(f.timeline.waiting, m, m + DRAINED_WINDOW_MINUTES) / DRAINED_WINDOW_MINUTES;
    return arrived > 0 ? waiting / arrived : 0;
  };
  const drainedBy: string[] = [];
  for (const f of tiersOf(run.outcome)) {
    const i = tiers.findIndex((x) => x.name === f.name);
    const fm = tiers[i];
    if (f.dropped > 0) {
      const firstDrop = f.timeline.dropped.findIndex((x) => x > 0);
      failures.push(`${f.name}: ${f.dropped} request(s) dropped (first at ${fmt(firstDrop * 60)}: queued at vLLM past the proxy's deadline or cut off), expected none (held or refused with a 503 instead)`);
    }
    const refusedAt = f.timeline.refused.findIndex((x, m) => m >= from && m < end / 60 && x > 0);
    if (refusedAt >= 0) {
      failures.push(`${f.name}: ${f.timeline.refused[refusedAt]} refused at ${fmt(refusedAt * 60)} (burst + ${Math.round((refusedAt * 60 - burstAt) / 60)} min), expected none once the burst is absorbed, by ${fmt(absorbedBy)} (boot ${boot} s + alarm ${alarm} s)`);
    }
    const rate = peak * run.prepared.tierShares[i];
    const perInstance = run.prepared.perInstanceRate[f.name];
    if (rate <= 0) continue;
    const needed = Math.min(fm.maxSize, Math.ceil(rate / perInstance - 1e-9));
    const serving = f.timeline.serving[from] ?? 0;
    if (serving < needed) {
      failures.push(`${f.name}: ${serving} instance(s) serving at ${fmt(from * 60)}, expected at least ${needed} for ${rate.toFixed(2)} req/s by ${fmt(absorbedBy)} (boot ${boot} s + alarm ${alarm} s)`);
      continue;
    }
    const spare = serving * perInstance - rate;
    const backlog = f.timeline.waiting[from] ?? 0;
    const drainBy = from + Math.ceil((spare > 0 ? (backlog / spare) * DRAIN_SLACK : Infinity) / 60);
    let first = -1;
    for (let m = from; m + DRAINED_WINDOW_MINUTES <= f.timeline.arrivals.length; m++) {
      if (meanWait(f, m) <= drained) {
        first = m;
        break;
      }
    }
    if (first < 0 || first > drainBy) {
      failures.push(`${f.name}: the backlog of ${Math.round(backlog)} request(s) at ${fmt(from * 60)} ${first < 0 ? 'never drained' : `drained at ${fmt(first * 60)}`}, expected by ${fmt(drainBy * 60)} (${serving} instance(s) leave ${spare.toFixed(2)} req/s spare; under ${drained} s mean wait over ${DRAINED_WINDOW_MINUTES} min)`);
      continue;
    }
    drainedBy.push(`${f.name} ${fmt(first * 60)}`);
    for (let m = first; m + DRAINED_WINDOW_MINUTES <= end / 60; m++) {
      const wait = meanWait(f, m);
      if (wait > drained) {
        failures.push(`${f.name}: ~${wait.toFixed(0)} s mean queue wait over the ${DRAINED_WINDOW_MINUTES} min from ${fmt(m * 60)} (burst + ${Math.round((m * 60 - burstAt) / 60)} min), expected under ${drained} s once drained (at ${fmt(first * 60)})`);
        break;
      }
    }
  }
  return {
    name: 'a burst is absorbed within boot time plus the alarm window, nothing dropped',
    applicable: true,
    pass: failures.length === 0,
    summary: `burst to ${peak.toFixed(2)} req/s at ${fmt(burstAt)} for ${burstMinutes} min; absorbed-by ${fmt(absorbedBy)}; drained ${drainedBy.join(', ') || '-'}; dropped ${tiersOf(run.outcome).map((f) => `${f.name} ${f.dropped}`).join(', ')}; refused ${tiersOf(run.outcome).map((f) => `${f.name} ${f.refused}`).join(', ')}`,
    failures,
    run,
  };
}

/** Every scenario, in order. */
export function runScenarios(model: SimModel, workload: WorkloadDefaults, o: ScenarioOptions = {}): ScenarioResult[] {
  return [
    steadyFullLoad(model, workload, o),
    ...firstRequestFromZero(model, workload, o),
    nightReturnsToMinimum(model, workload, o),
    burstAbsorbed(model, workload, o),
  ];
}

/** `h:mm` from the start of a run. */
export function fmt(second: number): string {
  const m = Math.floor(second / 60);
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}`;
}
