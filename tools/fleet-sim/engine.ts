/**
 * The fleet simulation: a fixed 1-second tick over aggregate request counts (never one object per
 * request), so its cost grows with simulated time and not with the request rate.
 *
 * Each second: scheduled actions and pre-warm (on the minute), instance life cycles, arrivals split
 * across tiers, the proxy's empty-tier behaviour, vLLM queues and batches per tier, the metrics each
 * component publishes, alarm and target-tracking evaluation, and the resulting scaling activities.
 */
import { AlarmModel, FleetModel, MetricId, MetricQuery, ProxyTierModel, SimModel, StepPolicyModel, TrackingPolicyModel } from './model';
import { AlarmRule, AlarmTracker, evaluationInterval, evaluationRange, newAlarmTracker, nextAlarmState, stepAlarm } from './alarm';
import { aggregate, applyStep, CapacityView, clamp, matchStep, trackingScaleIn, trackingScaleOut } from './scaling';
import { MetricStore, queryMetrics } from './metrics';
import { localTime, MinuteMatcher, schedulerMatcher, unixCronMatcher } from './cron';
import { binomial, poisson, RequestGroup, rng, Trace } from './traces';
import { IN_SERVICE_AFTER_LAUNCH_SECONDS, ModelPerformance, ROUTER_SECONDS_PER_REQUEST } from './assumptions';
import { FleetMetric, ProxyMetric } from '../../contracts/metrics';
import { ConfigError } from '../../contracts/validation';
import { failoverOrder } from '../../proxy/src/dispatch/policy';

/** The alarms target tracking creates: datapoints per alarm and the scale-in threshold ratio. */
export interface TrackingAlarmShape {
  /** Scale-out alarm: this many datapoints above the target, all of them (3 of 3). */
  readonly highDatapoints: number;
  /** Scale-in alarm: this many datapoints under `lowRatio` x target, all of them (15 of 15). */
  readonly lowDatapoints: number;
  readonly lowRatio: number;
}

/**
 * Target tracking's alarms as they appear on a group: AlarmHigh with 3 of 3 datapoints over the
 * target and AlarmLow with 15 of 15 datapoints under 90% of it (users observe exactly these on
 * one-minute metrics, e.g. https://github.com/aws/containers-roadmap/issues/1208 and
 * https://github.com/aws-samples/amazon-aurora-labs-for-mysql/issues/3; the Application Auto Scaling
 * guide says scale-in waits for a value "usually more than 10% lower" than the target,
 * https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html).
 * For a 10- or 30-second metric the simulator keeps the datapoint counts at the metric's period: an
 * assumption, since AWS does not document them for high-resolution metrics.
 */
export const TRACKING_ALARMS: TrackingAlarmShape = { highDatapoints: 3, lowDatapoints: 15, lowRatio: 0.9 };

/** Everything a run needs besides the model. */
export interface SimOptions {
  readonly durationSeconds: number;
  /** Epoch ms of simulated second 0 (schedules and shapes use local time). */
  readonly startMs: number;
  readonly seed: number;
  readonly trace: Trace;
  /** Share of requests each tier's routing score selects, in the proxy's tier order. */
  readonly tierShares: readonly number[];
  /** Output tokens per request, as equally likely sizes. */
  readonly outputTokenSizes: readonly number[];
  readonly promptTokens: number;
  /** Share of requests that stream (their vLLM queue wait is bounded by the first-token deadline). */
  readonly streamShare: number;
  /**
   * First-token deadline of streamed requests, ms, instead of the proxy document's
   * `dispatch.firstTokenTimeoutMs` (to try another value before the proxy ships it).
   */
  readonly firstTokenTimeoutMs?: number;
  /**
   * Wait-bounded admission: the proxy answers 503 with Retry-After, before any byte, to a request
   * whose estimated queue wait at its tier (requests ahead of it beyond the free sequence slots /
   * requests finished per second over the last {@link ADMISSION_WINDOW_SECONDS} s) exceeds this
   * share of its deadline. Undefined: every request is admitted, as the proxy does today.
   */
  readonly admissionWaitShare?: number;
  /** Launch to healthy vLLM, per fleet name. */
  readonly bootSeconds: Readonly<Record<string, number>>;
  /** Serving speed, per tier name. */
  readonly performance: Readonly<Record<string, ModelPerformance>>;
  readonly trackingAlarms: TrackingAlarmShape;
  /**
   * Instances in service at second 0, per fleet name; default: the group's minimum in effect at the
   * start time, warmed up.
   */
  readonly initialInstances?: Readonly<Record<string, number>>;
  /** Called with the fraction done, at most every simulated 10 minutes. */
  readonly onProgress?: (fraction: number) => void;
}

/** One change of a group's desired capacity (or an instance replaced). */
export interface ScalingEvent {
  readonly second: number;
  readonly fleet: string;
  readonly from: number;
  readonly to: number;
  /** The policy, alarm, scheduled action or health check that caused it. */
  readonly cause: string;
}

/** Per-minute series of one fleet. */
export interface FleetTimeline {
  readonly desired: Float32Array;
  /** Launched, not yet serving (booting, or waiting for the load balancer's health checks). */
  readonly booting: Float32Array;
  /** Registered and healthy in the load balancer. */
  readonly serving: Float32Array;
  readonly draining: Float32Array;
  /** Average waiting / running requests in the fleet (all instances together). */
  readonly waiting: Float32Array;
  readonly running: Float32Array;
  /** Requests of this tier held by the proxy (average), refused and dropped (sums). */
  readonly held: Float32Array;
  readonly refused: Float32Array;
  readonly dropped: Float32Array;
  readonly arrivals: Float32Array;
}

/** What one fleet did. */
export interface FleetOutcome {
  readonly name: string;
  readonly kind: 'router' | 'tier';
  readonly instanceType: string;
  readonly usdPerHour: number;
  readonly bootSeconds: number;
  readonly instanceSeconds: number;
  readonly launches: number;
  readonly terminations: number;
  /** Instances terminated within 30 minutes of their launch. */
  readonly churn: number;
  /** Every instance terminated during the run: launch (negative: before the run) and termination second. */
  readonly terminated: ReadonlyArray<{ readonly launchAt: number; readonly goneAt: number }>;
  /** Launch seconds of every instance launched during the run. */
  readonly launchedAt: readonly number[];
  readonly peakInstances: number;
  readonly finalDesired: number;
  /** Requests whose routing chose this tier. */
  readonly routed: number;
  /** Second the first request chose this tier (undefined: none did). */
  readonly firstArrivalAt?: number;
  readonly served: number;
  /** Refused with a clean 503 (every tier empty, hold queue full, or held past maxHoldMs). */
  readonly refused: number;
  /** Accepted, then failed: queued at vLLM past the proxy's deadline, or cut when an instance left. */
  readonly dropped: number;
  readonly held: number;
  /** Requests that found this tier without capacity (the NoCapacityRequests counter). */
  readonly noCapacity: number;
  readonly spilledOut: number;
  readonly prewarmRequests: number;
  /** Seconds from arrival to a running slot (hold time included), histogram by whole second. */
  readonly waitHistogram: Uint32Array;
  readonly timeline: FleetTimeline;
}

/** The outcome of a run. */
export interface SimOutcome {
  readonly durationSeconds: number;
  readonly startMs: number;
  readonly fleets: readonly FleetOutcome[];
  readonly events: readonly ScalingEvent[];
  /** Requests per minute (all tiers). */
  readonly arrivalsPerMinute: Float32Array;
  /** Mean service seconds of a request on the last tier at the reference batch, per output size. */
  readonly largeTierSecondsPerRequest: number;
}

/** Seconds over which wait-bounded admission measures a tier's completion rate. */
export const ADMISSION_WINDOW_SECONDS = 30;

/** Seconds after launch within which a termination counts as churn. */
export const CHURN_WINDOW_SECONDS = 1800;
/** Longest wait the histogram tells apart; longer waits land in its last bucket. */
export const WAIT_HISTOGRAM_SECONDS = 3600;

interface Instance {
  readonly launchAt: number;
  readonly inServiceAt: number;
  readonly readyAt: number;
  readonly registeredAt: number;
  readonly warmedAt: number;
  state: 'pending' | 'inService' | 'draining' | 'gone';
  drainUntil: number;
  goneAt: number;
}

interface Cohort {
  readonly arrival: number;
  enqueued: number;
  n: number;
  readonly output: number;
  readonly prompt: number;
  readonly stream: boolean;
}

/** A first-in, first-out queue of cohorts. */
class Fifo {
  items: Cohort[] = [];
  head = 0;
  count = 0;
  push(c: Cohort): void {
    this.items.push(c);
    this.count += c.n;
  }
  peek(): Cohort | undefined {
    return this.items[this.head];
  }
  shift(): void {
    const c = this.items[this.head++];
    if (c) this.count -= c.n;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
  take(c: Cohort, k: number): void {
    c.n -= k;
    this.count -= k;
    if (c.n <= 0) this.shift();
  }
}

/** Running cohorts by the virtual-clock reading at which they finish (binary min-heap). */
class FinishHeap {
  keys: number[] = [];
  counts: number[] = [];
  total = 0;
  push(key: number, n: number): void {
    this.keys.push(key);
    this.counts.push(n);
    this.total += n;
    let i = this.keys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.keys[p] <= this.keys[i]) break;
      this.swap(i, p);
      i = p;
    }
  }
  /** Removes every cohort finished by `clock`; returns how many requests finished. */
  popUntil(clock: number): number {
    let done = 0;
    while (this.keys.length && this.keys[0] <= clock) {
      done += this.counts[0];
      this.removeTop();
    }
    this.total -= done;
    return done;
  }
  /** Keeps `fraction` of every cohort (instances left with requests on them); returns the requests removed. */
  shrink(fraction: number): number {
    let removed = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const keep = Math.floor(this.counts[i] * fraction);
      removed += this.counts[i] - keep;
      this.counts[i] = keep;
    }
    this.total -= removed;
    return removed;
  }
  private removeTop(): void {
    const last = this.keys.length - 1;
    this.swap(0, last);
    this.keys.pop();
    this.counts.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.keys.length && this.keys[l] < this.keys[m]) m = l;
      if (r < this.keys.length && this.keys[r] < this.keys[m]) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
  private swap(a: number, b: number): void {
    [this.keys[a], this.keys[b]] = [this.keys[b], this.keys[a]];
    [this.counts[a], this.counts[b]] = [this.counts[b], this.counts[a]];
  }
}

interface AlarmRuntime {
  readonly rule: AlarmRule;
  readonly query: MetricQuery;
  readonly tracker: AlarmTracker;
}

interface StepRuntime {
  readonly policy: StepPolicyModel;
  readonly alarms: Array<AlarmRuntime & { readonly model: AlarmModel }>;
}

interface TrackingRuntime {
  readonly policy: TrackingPolicyModel;
  readonly high: AlarmRuntime;
  readonly low: AlarmRuntime;
}

interface Proposal {
  readonly desired: number;
  readonly cause: string;
}

class FleetRuntime {
  readonly instances: Instance[] = [];
  desired: number;
  min: number;
  max: number;
  readonly steps: StepRuntime[];
  readonly tracking: TrackingRuntime[];
  readonly schedules: Array<{ match: MinuteMatcher; timeZone: string; cause: string; min?: number; max?: number; desired?: number }>;
  readonly maxSeqs: number;
  // Step time model of a generate server: seconds per decode step = t0 + k x running sequences.
  readonly t0: number;
  readonly k: number;
  readonly prefillTps: number;
  readonly routerSeconds: number;
  readonly waitingStream = new Fifo();
  readonly waitingBatch = new Fifo();
  readonly hold = new Fifo();
  readonly running = new FinishHeap();
  clock = 0;
  routerRunning = 0;
  /** Instances serving / draining this second (counted when an instance changes). */
  servingNow = 0;
  drainingNow = 0;
  /** Next second an instance of the fleet changes state; `dirty` after a launch or termination. */
  nextChange = 0;
  dirty = true;
  goneCount = 0;
  // Counters
  routed = 0;
  served = 0;
  refused = 0;
  dropped = 0;
  held = 0;
  noCapacity = 0;
  spilledOut = 0;
  launches = 0;
  terminations = 0;
  churn = 0;
  peak = 0;
  prewarmRequests = 0;
  readonly terminatedLog: Array<{ launchAt: number; goneAt: number }> = [];
  readonly launchLog: number[] = [];
  noCapacityThisSecond = 0;
  routedThisSecond = 0;
  /** Requests finished per second, the last ADMISSION_WINDOW_SECONDS seconds (each frees a slot for a waiting one). */
  readonly finished = new Float64Array(ADMISSION_WINDOW_SECONDS);
  finishedInWindow = 0;
  firstArrivalAt: number | undefined;
  readonly waitHistogram = new Uint32Array(WAIT_HISTOGRAM_SECONDS + 1);
  readonly timeline: FleetTimeline;
  // Per-minute accumulators
  accWaiting = 0;
  accRunning = 0;
  accHeld = 0;
  accRefused = 0;
  accDropped = 0;
  accArrivals = 0;

  constructor(readonly model: FleetModel, readonly tierIndex: number, readonly bootSeconds: number, readonly warmupDefault: number, perf: ModelPerformance | undefined, minutes: number) {
    this.desired = 0;
    this.min = model.minSize;
    this.max = model.maxSize;
    this.maxSeqs = model.servers.reduce((s, x) => s + x.maxNumSeqs, 0);
    if (perf) {
      this.t0 = 1 / perf.singleStreamTps;
      const full = perf.referenceSeqs / perf.fullBatchTps;
      this.k = Math.max(0, (full - this.t0) / perf.referenceSeqs);
      this.prefillTps = perf.prefillTps;
    } else {
      this.t0 = 0;
      this.k = 0;
      this.prefillTps = Infinity;
    }
    this.routerSeconds = model.servers.reduce((s, x) => s + (ROUTER_SECONDS_PER_REQUEST[x.role] ?? 0), 0);
    this.steps = [];
    this.tracking = [];
    this.schedules = [];
    const series = () => new Float32Array(minutes);
    this.timeline = {
      desired: series(), booting: series(), serving: series(), draining: series(), waiting: series(), running: series(),
      held: series(), refused: series(), dropped: series(), arrivals: series(),
    };
  }

  /** Instances launched and not yet terminating. */
  active(): Instance[] {
    return this.instances.filter((i) => i.state === 'pending' || i.state === 'inService');
  }

  servingCount(now: number): number {
    let n = 0;
    for (const i of this.instances) if (i.state === 'inService' && now >= i.registeredAt) n++;
    return n;
  }

  drainingCount(): number {
    let n = 0;
    for (const i of this.instances) if (i.state === 'draining') n++;
    return n;
  }

  view(now: number): CapacityView {
    let warmed = 0;
    let inService = 0;
    let terminating = 0;
    for (const i of this.instances) {
      if (i.state === 'inService') {
        inService++;
        if (now >= i.warmedAt) warmed++;
      } else if (i.state === 'draining') terminating++;
    }
    return { desired: this.desired, min: this.min, max: this.max, warmed, inService, terminating };
  }

  /** Scaling in by a policy waits while an instance launches or warms up (default instance warmup guide). */
  scaleInBlocked(now: number): boolean {
    return this.instances.some((i) => i.state === 'pending' || (i.state === 'inService' && now < i.warmedAt));
  }

  waitingCount(): number {
    return this.waitingStream.count + this.waitingBatch.count;
  }

  /** Seconds per decode step with `r` sequences running on one instance. */
  stepSeconds(r: number): number {
    return this.t0 + this.k * r;
  }
}

/** Runs one simulation. */
export function simulate(model: SimModel, o: SimOptions): SimOutcome {
  const T = Math.floor(o.durationSeconds);
  const minutes = Math.ceil(T / 60);
  const random = rng(o.seed);
  const proxy = model.proxy;
  const tiersByName = new Map(proxy.tiers.map((t, i) => [t.name, i]));
  const fleets = model.fleets.map((f) => {
    const boot = o.bootSeconds[f.name];
    if (boot === undefined) throw new ConfigError([`--boot: got no boot time for fleet "${f.name}", expected seconds from launch to healthy vLLM`], 'fleet-sim options');
    const perf = f.kind === 'tier' ? o.performance[f.name] : undefined;
    if (f.kind === 'tier' && !perf) throw new ConfigError([`--tps: got no serving speed for tier "${f.name}", expected single-stream and full-batch tokens per second`], 'fleet-sim options');
    // Without a default instance warmup, Auto Scaling falls back to the default cooldown (300 s).
    return new FleetRuntime(f, f.kind === 'tier' ? (tiersByName.get(f.name) as number) : -1, boot, f.defaultInstanceWarmupSeconds ?? 300, perf, minutes);
  });
  const tiers = fleets.filter((f) => f.model.kind === 'tier').sort((a, b) => a.tierIndex - b.tierIndex);
  const router = fleets.find((f) => f.model.kind === 'router');
  const store = new MetricStore(Math.ceil(T / 10) + 2);
  const events: ScalingEvent[] = [];
  const arrivalsPerMinute = new Float32Array(minutes);

  // Metric publishers: only the metrics some alarm or policy reads are recorded.
  const publishers = buildPublishers(model, fleets, tiers);

  for (const f of fleets) {
    for (const p of f.model.stepPolicies) {
      f.steps.push({ policy: p, alarms: p.alarms.map((a) => ({ model: a, rule: a, query: a.query, tracker: newAlarmTracker() })) });
    }
    for (const p of f.model.trackingPolicies) {
      const period = p.query.period;
      const high: AlarmRule = {
        period, evaluationPeriods: o.trackingAlarms.highDatapoints, datapointsToAlarm: o.trackingAlarms.highDatapoints,
        threshold: p.targetValue, comparison: 'GreaterThanThreshold', treatMissingData: 'missing',
      };
      const low: AlarmRule = {
        period, evaluationPeriods: o.trackingAlarms.lowDatapoints, datapointsToAlarm: o.trackingAlarms.lowDatapoints,
        threshold: p.targetValue * o.trackingAlarms.lowRatio, comparison: 'LessThanThreshold', treatMissingData: 'missing',
      };
      f.tracking.push({ policy: p, high: { rule: high, query: p.query, tracker: newAlarmTracker() }, low: { rule: low, query: p.query, tracker: newAlarmTracker() } });
    }
    for (const a of f.model.scheduledActions) {
      let match: MinuteMatcher;
      try {
        match = unixCronMatcher(a.recurrence);
      } catch (e) {
        throw new ConfigError([`Resources.${a.logicalId}.Properties.Recurrence: ${(e as Error).message}`], 'template for the fleet simulator');
      }
      f.schedules.push({ match, timeZone: a.timeZone, cause: `scheduled action ${a.logicalId}`, min: a.minSize, max: a.maxSize, desired: a.desiredCapacity });
    }
  }
  const prewarms = model.prewarms.map((p) => {
    try {
      return { match: schedulerMatcher(p.expression, o.startMs), timeZone: p.timeZone, fleets: new Set(p.fleets) };
    } catch (e) {
      throw new ConfigError([`Resources.${p.logicalId}.Properties.ScheduleExpression: ${(e as Error).message}`], 'template for the fleet simulator');
    }
  });

  // Initial state: the minimum in effect at the start (the last scheduled action before it), warmed.
  for (const f of fleets) {
    applyLastSchedule(f, o.startMs);
    // Instances given as in service at the start are warmed; a group below its minimum launches the rest.
    const n = Math.min(f.max, o.initialInstances?.[f.model.name] ?? f.model.desiredCapacity ?? f.min);
    f.desired = clamp(f, n);
    for (let i = 0; i < n; i++) {
      f.instances.push({ launchAt: -100_000, inServiceAt: -100_000, readyAt: -100_000, registeredAt: -100_000, warmedAt: -100_000, state: 'inService', drainUntil: 0, goneAt: Infinity });
    }
    f.peak = n;
  }

  const launch = (f: FleetRuntime, now: number, warmup: number) => {
    const inServiceAt = now + IN_SERVICE_AFTER_LAUNCH_SECONDS;
    const readyAt = now + f.bootSeconds;
    const interval = f.model.healthCheckIntervalSeconds;
    // Health checks start when the target registers (InService) and repeat every interval; it turns
    // healthy after HealthyThresholdCount passes in a row.
    const registeredAt = interval > 0
      ? inServiceAt + Math.max(0, Math.ceil((readyAt - inServiceAt) / interval)) * interval + (f.model.healthyThresholdCount - 1) * interval
      : Math.max(inServiceAt, readyAt);
    f.instances.push({ launchAt: now, inServiceAt, readyAt, registeredAt, warmedAt: inServiceAt + warmup, state: 'pending', drainUntil: 0, goneAt: Infinity });
    f.launches++;
    f.dirty = true;
    f.launchLog.push(now);
  };
  const gone = (f: FleetRuntime, inst: Instance, now: number) => {
    inst.state = 'gone';
    inst.goneAt = now;
    f.goneCount++;
    f.dirty = true;
    f.terminations++;
    if (now - inst.launchAt < CHURN_WINDOW_SECONDS) f.churn++;
    f.terminatedLog.push({ launchAt: inst.launchAt, goneAt: now });
  };
  const terminate = (f: FleetRuntime, inst: Instance, now: number) => {
    if (inst.state === 'inService' && now >= inst.registeredAt) {
      inst.state = 'draining';
      inst.drainUntil = now + f.model.deregistrationDelaySeconds;
      f.dirty = true;
      f.servingNow = f.servingCount(now);
      f.drainingNow = f.drainingCount();
    } else gone(f, inst, now);
  };
  const reconcile = (f: FleetRuntime, now: number, warmup: number) => {
    const active = f.active();
    if (active.length < f.desired) {
      for (let i = active.length; i < f.desired; i++) launch(f, now, warmup);
    } else if (active.length > f.desired) {
      // Newest first: a scale-in right after a scale-out removes what was just launched.
      const byAge = [...active].sort((a, b) => b.launchAt - a.launchAt);
      for (let i = 0; i < active.length - f.desired; i++) terminate(f, byAge[i], now);
    }
    f.peak = Math.max(f.peak, f.active().length);
  };
  const setDesired = (f: FleetRuntime, now: number, to: number, cause: string, warmup: number) => {
    const next = clamp(f, to);
    if (next === f.desired) return;
    events.push({ second: now, fleet: f.model.name, from: f.desired, to: next, cause });
    f.desired = next;
    reconcile(f, now, warmup);
  };

  const failoverOrders = tiers.map((_, d) => failoverOrder(d, tiers.length));

  /** Puts requests of decided tier `d` where the proxy would: a tier with capacity, a hold queue, or a 503. */
  function dispatch(d: number, c: Cohort): void {
    const decided = tiers[d];
    decided.firstArrivalAt ??= c.arrival;
    decided.routed += c.n;
    decided.routedThisSecond += c.n;
    decided.accArrivals += c.n;
    // The dispatcher's order (decided tier, larger ones, then smaller ones); each empty tier's own
    // whenEmpty decides: hold the request there, or spill it to the next tier in that order.
    const order = failoverOrders[d];
    for (let j = 0; j < order.length; j++) {
      const idx = order[j];
      const t = tiers[idx];
      if (t.servingNow > 0) {
        const k = admitted(t, c);
        if (k < c.n) {
          decided.refused += c.n - k;
          decided.accRefused += c.n - k;
          if (k === 0) return;
          c.n = k;
        }
        if (idx !== d) decided.spilledOut += c.n;
        (c.stream ? t.waitingStream : t.waitingBatch).push(c);
        return;
      }
      t.noCapacity += c.n;
      t.noCapacityThisSecond += c.n;
      const tm: ProxyTierModel = proxy.tiers[idx];
      if (tm.whenEmpty === 'hold') {
        const room = tm.holdQueueSize * proxy.tasks - t.hold.count;
        const k = Math.max(0, Math.min(room, c.n));
        if (k > 0) {
          t.hold.push({ arrival: c.arrival, enqueued: c.enqueued, n: k, output: c.output, prompt: c.prompt, stream: c.stream });
          t.held += k;
        }
        decided.refused += c.n - k;
        decided.accRefused += c.n - k;
        return;
      }
    }
    decided.refused += c.n;
    decided.accRefused += c.n;
  }

  /**
   * How many of cohort `c` a tier with capacity admits: all, or under wait-bounded admission as many
   * as keep the estimated wait of the last one (requests ahead of it beyond the free sequence slots,
   * divided by the tier's recent completion rate) within the deadline's share.
   */
  function admitted(t: FleetRuntime, c: Cohort): number {
    if (o.admissionWaitShare === undefined) return c.n;
    const limit = o.admissionWaitShare * (c.stream ? streamDeadline : batchDeadline);
    const rate = t.finishedInWindow / ADMISSION_WINDOW_SECONDS;
    const free = Math.max(0, t.servingNow * t.maxSeqs - t.running.total);
    const room = Math.floor(free + limit * rate - t.waitingCount());
    return Math.max(0, Math.min(c.n, room));
  }

  /** Dispatches `n` requests of one size to decided tier `d`, split into streamed and not. */
  function dispatchSplit(d: number, n: number, g: RequestGroup, now: number): void {
    if (n <= 0) return;
    const streamed = binomial(n, o.streamShare, random);
    if (streamed > 0) dispatch(d, { arrival: now, enqueued: now, n: streamed, output: g.outputTokens, prompt: g.promptTokens, stream: true });
    if (n - streamed > 0) dispatch(d, { arrival: now, enqueued: now, n: n - streamed, output: g.outputTokens, prompt: g.promptTokens, stream: false });
  }

  /** Drops requests queued at vLLM past their deadline. */
  function expire(t: FleetRuntime, queue: Fifo, deadline: number, now: number): void {
    for (let c = queue.peek(); c && now - c.enqueued >= deadline; c = queue.peek()) {
      t.dropped += c.n;
      t.accDropped += c.n;
      queue.shift();
    }
  }

  const routerPerInstance = router ? router.model.servers.reduce((m, x) => Math.min(m, x.maxNumSeqs / (ROUTER_SECONDS_PER_REQUEST[x.role] ?? 1)), Infinity) : 0;
  // A streamed request waiting at vLLM has sent no content byte: the first-token deadline bounds it.
  const streamDeadline = (o.firstTokenTimeoutMs ?? proxy.firstTokenTimeoutMs) / 1000;
  const batchDeadline = proxy.nonStreamTimeoutMs / 1000;
  const progressEvery = 600;
  let minuteArrivals = 0;

  for (const f of fleets) reconcile(f, 0, f.warmupDefault);

  for (let s = 0; s < T; s++) {
    const epoch = o.startMs + s * 1000;
    if (o.onProgress && s % progressEvery === 0) o.onProgress(s / T);

    // Scheduled actions and pre-warm fire on the minute, in their own time zones.
    if (s % 60 === 0) {
      for (const f of fleets) {
        for (const a of f.schedules) {
          if (!a.match(localTime(epoch, a.timeZone), epoch)) continue;
          if (a.min !== undefined) f.min = a.min;
          if (a.max !== undefined) f.max = a.max;
          const to = a.desired ?? f.desired;
          const next = clamp(f, to);
          if (next !== f.desired) setDesired(f, s, next, a.cause, f.warmupDefault);
        }
      }
    }

    // Instance life cycles: only on a second some instance changes (or while one drains).
    for (const f of fleets) {
      if (s >= f.nextChange || f.drainingNow > 0 || f.dirty) {
        let replaced = 0;
        let next = Infinity;
        for (const inst of f.instances) {
          if (inst.state === 'pending' && s >= inst.inServiceAt) inst.state = 'inService';
          if (inst.state === 'inService' && f.model.healthCheckType === 'ELB' && s === inst.inServiceAt + f.model.healthCheckGraceSeconds && s < inst.registeredAt) {
            // ELB health counts once the grace period ends: a target still not healthy is replaced.
            gone(f, inst, s);
            replaced++;
          }
        }
        f.servingNow = f.servingCount(s);
        const load = f.model.kind === 'tier' ? f.running.total : f.routerRunning;
        for (const inst of f.instances) {
          if (inst.state === 'draining' && (s >= inst.drainUntil || load <= f.servingNow * f.maxSeqs)) gone(f, inst, s);
        }
        f.drainingNow = f.drainingCount();
        if (replaced > 0) {
          events.push({ second: s, fleet: f.model.name, from: f.desired, to: f.desired, cause: `health check: ${replaced} instance(s) not healthy when the ${f.model.healthCheckGraceSeconds} s grace period ended, replaced` });
          reconcile(f, s, f.warmupDefault);
        }
        for (const inst of f.instances) {
          if (inst.state === 'gone') continue;
          for (const at of [inst.inServiceAt, inst.registeredAt, inst.inServiceAt + f.model.healthCheckGraceSeconds, inst.drainUntil]) {
            if (at > s && at < next) next = at;
          }
        }
        f.nextChange = next;
        f.dirty = false;
      }
      if (f.model.kind === 'tier') {
        // Requests still running on instances that left are cut off.
        const capacity = (f.servingNow + f.drainingNow) * f.maxSeqs;
        if (f.running.total > capacity) {
          const cut = f.running.shrink(capacity / f.running.total);
          f.dropped += cut;
          f.accDropped += cut;
        }
      }
      if (s % 60 === 0 && f.goneCount > 0) {
        f.goneCount = 0;
        // Terminated instances are billed and forgotten once a minute.
        billGone(f, f.instances.filter((i) => i.state === 'gone'));
        const keep = f.instances.filter((i) => i.state !== 'gone');
        f.instances.length = 0;
        f.instances.push(...keep);
      }
    }

    // Pre-warm: each schedule that fires sends one minimal request to every server of every serving
    // instance of its fleets; it starts nothing.
    if (s % 60 === 0) {
      for (const p of prewarms) {
        if (!p.match(localTime(epoch, p.timeZone), epoch)) continue;
        for (const f of fleets) {
          if (p.fleets.has(f.model.name)) f.prewarmRequests += f.servingNow * f.model.servers.length;
        }
      }
    }

    // Arrivals: routing score decides the tier; the router fleet scores every request first.
    const groups = arrivals(o, s, random);
    let total = 0;
    for (const g of groups) total += g.count;
    minuteArrivals += total;
    let fallback = 0;
    if (router) {
      const serving = router.servingNow;
      const capacity = serving * routerPerInstance;
      const scored = Math.min(total, capacity);
      router.routerRunning = scored * router.routerSeconds;
      router.served += scored;
      router.routed += total;
      // Requests the router could not score go to the fallback tier ("pay more rather than fail").
      fallback = total - scored;
    }
    for (const g of groups) {
      let left = g.count;
      if (fallback > 0) {
        const n = Math.min(fallback, left);
        fallback -= n;
        left -= n;
        dispatchSplit(proxy.fallbackTier, n, g, s);
      }
      if (g.tier !== undefined) {
        const idx = tiersByName.get(g.tier);
        if (idx === undefined) throw new ConfigError([`trace tier: got "${g.tier}", expected one of ${proxy.tiers.map((t) => t.name).join(', ')}`], 'CSV trace');
        dispatchSplit(idx, left, g, s);
        continue;
      }
      let shareLeft = 1;
      for (let i = 0; i < tiers.length; i++) {
        const n = i === tiers.length - 1 ? left : binomial(left, Math.min(1, o.tierShares[i] / Math.max(shareLeft, 1e-12)), random);
        shareLeft -= o.tierShares[i];
        left -= n;
        dispatchSplit(i, n, g, s);
      }
    }

    // Held requests: released when their tier has capacity, refused after maxHoldMs.
    for (const t of tiers) {
      if (t.hold.count === 0) continue;
      const tm = proxy.tiers[t.tierIndex];
      if (t.servingNow > 0) {
        while (t.hold.count > 0) {
          const c = t.hold.peek() as Cohort;
          t.hold.shift();
          c.enqueued = s;
          (c.stream ? t.waitingStream : t.waitingBatch).push(c);
        }
        continue;
      }
      for (let c = t.hold.peek(); c && s - c.arrival >= tm.maxHoldMs / 1000; c = t.hold.peek()) {
        t.refused += c.n;
        t.accRefused += c.n;
        t.hold.shift();
      }
    }

    // Serving: admission into free sequence slots (first in, first out), one second of decoding, completions.
    for (const t of tiers) {
      const serving = t.servingNow;
      const draining = t.drainingNow;
      let free = serving * t.maxSeqs - t.running.total;
      const hosts = serving + draining;
      while (free > 0 && t.waitingCount() > 0) {
        const a = t.waitingStream.peek();
        const b = t.waitingBatch.peek();
        const c = (a && (!b || a.enqueued <= b.enqueued) ? a : b) as Cohort;
        const queue = c === a ? t.waitingStream : t.waitingBatch;
        const k = Math.min(free, c.n);
        const wait = Math.min(WAIT_HISTOGRAM_SECONDS, s - c.arrival);
        t.waitHistogram[wait] += k;
        // Prefill occupies the slot too: its seconds, in decode steps at the current batch.
        const step = t.stepSeconds(hosts > 0 ? (t.running.total + k) / hosts : 0);
        const work = c.output + c.prompt / t.prefillTps / step;
        t.running.push(t.clock + work, k);
        queue.take(c, k);
        free -= k;
      }
      if (hosts > 0 && t.running.total > 0) {
        t.clock += 1 / t.stepSeconds(t.running.total / hosts);
      }
      const done = t.running.popUntil(t.clock);
      t.served += done;
      const slot = s % ADMISSION_WINDOW_SECONDS;
      t.finishedInWindow += done - t.finished[slot];
      t.finished[slot] = done;
      // A streamed request still waiting at vLLM at the first-token deadline is ended with an SSE
      // error (the proxy already answered 200 and kept the stream open with comment lines).
      expire(t, t.waitingStream, streamDeadline, s);
      expire(t, t.waitingBatch, batchDeadline, s);
    }

    // Metrics: what each component would publish this second.
    publishers.perSecond(s, store);
    if (s % 10 === 0) publishers.perTenSeconds(s, store);
    if (s % 60 === 0) publishers.perMinute(s, store);
    for (const t of tiers) {
      t.noCapacityThisSecond = 0;
      t.routedThisSecond = 0;
    }

    // Alarms and target tracking, then the scaling activities they cause.
    if (s % 10 === 0 && s > 0) {
      for (const f of fleets) {
        const proposals: Proposal[] = [];
        const view = f.view(s);
        const blocked = f.scaleInBlocked(s);
        for (const step of f.steps) {
          for (const a of step.alarms) {
            const fired = evaluateAlarm(a, s, store);
            if (!fired) continue;
            const values = recentValues(a, s, store);
            const value = aggregate(values, step.policy.aggregation);
            if (value === undefined) continue;
            const adj = matchStep(step.policy.steps, value, a.rule.threshold);
            // An ExactCapacity step of 0 empties the group; a change of 0 does nothing.
            if (!adj || (adj.adjustment === 0 && step.policy.adjustmentType !== 'ExactCapacity')) continue;
            const out = step.policy.adjustmentType === 'ExactCapacity' ? adj.adjustment > f.desired : adj.adjustment > 0;
            if (!out && blocked) continue;
            const next = applyStep(view, step.policy.adjustmentType, adj.adjustment, step.policy.minAdjustmentMagnitude);
            if (next !== undefined) proposals.push({ desired: next, cause: `${step.policy.logicalId} (alarm ${a.model.logicalId}, value ${round(value)})` });
          }
        }
        for (const tr of f.tracking) {
          const outFired = evaluateAlarm(tr.high, s, store);
          const inFired = evaluateAlarm(tr.low, s, store);
          const latest = recentValues(tr.high, s, store).at(-1);
          if (latest === undefined) continue;
          if (outFired) {
            const next = trackingScaleOut(view, latest, tr.policy.targetValue);
            if (next !== undefined) proposals.push({ desired: next, cause: `${tr.policy.logicalId} scale-out (value ${round(latest)} > target ${tr.policy.targetValue})` });
          }
          // Scale-in only when every tracking policy with scale-in on agrees (EC2 Auto Scaling guide, "Considerations").
          const allLow = f.tracking.every((x) => x.policy.disableScaleIn || x.low.tracker.state === 'ALARM');
          if (inFired && !tr.policy.disableScaleIn && allLow && !blocked) {
            const next = trackingScaleIn(view, latest, tr.policy.targetValue);
            if (next !== undefined) proposals.push({ desired: next, cause: `${tr.policy.logicalId} scale-in (value ${round(latest)} < ${round(tr.low.rule.threshold)})` });
          }
        }
        if (proposals.length === 0) continue;
        // Simultaneous policies: Auto Scaling "chooses the policy that provides the largest capacity for
        // both scale out and scale in" (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scale-based-on-demand.html).
        const outs = proposals.filter((p) => p.desired > f.desired);
        const chosen = (outs.length ? outs : proposals).reduce((a, b) => (b.desired > a.desired ? b : a));
        const warmup = warmupOf(f, chosen.cause);
        setDesired(f, s, chosen.desired, chosen.cause, warmup);
      }
    }

    // Per-minute timeline.
    for (const f of fleets) {
      f.accWaiting += f.waitingCount();
      f.accRunning += f.model.kind === 'tier' ? f.running.total : f.routerRunning;
      f.accHeld += f.hold.count;
    }
    if (s % 60 === 59 || s === T - 1) {
      const m = Math.floor(s / 60);
      const secs = s % 60 + 1;
      arrivalsPerMinute[m] = minuteArrivals;
      minuteArrivals = 0;
      for (const f of fleets) {
        const tl = f.timeline;
        let booting = 0;
        let serving = 0;
        let draining = 0;
        for (const i of f.instances) {
          if (i.state === 'draining') draining++;
          else if (i.state === 'inService' && s >= i.registeredAt) serving++;
          else if (i.state === 'pending' || i.state === 'inService') booting++;
        }
        tl.desired[m] = f.desired;
        tl.booting[m] = booting;
        tl.serving[m] = serving;
        tl.draining[m] = draining;
        tl.waiting[m] = f.accWaiting / secs;
        tl.running[m] = f.accRunning / secs;
        tl.held[m] = f.accHeld / secs;
        tl.refused[m] = f.accRefused;
        tl.dropped[m] = f.accDropped;
        tl.arrivals[m] = f.model.kind === 'router' ? arrivalsPerMinute[m] : f.accArrivals;
        f.accWaiting = f.accRunning = f.accHeld = f.accRefused = f.accDropped = f.accArrivals = 0;
      }
    }
  }
  if (o.onProgress) o.onProgress(1);

  const large = tiers[tiers.length - 1];
  const meanOutput = o.outputTokenSizes.reduce((a, b) => a + b, 0) / o.outputTokenSizes.length;
  const largeSeconds = large.stepSeconds(large.maxSeqs) * meanOutput + o.promptTokens / large.prefillTps;
  return {
    durationSeconds: T,
    startMs: o.startMs,
    events,
    arrivalsPerMinute,
    largeTierSecondsPerRequest: largeSeconds,
    fleets: fleets.map((f): FleetOutcome => ({
      name: f.model.name,
      kind: f.model.kind,
      instanceType: f.model.instanceType,
      usdPerHour: f.model.usdPerHour,
      bootSeconds: f.bootSeconds,
      instanceSeconds: instanceSeconds(f, T),
      launches: f.launches,
      terminations: f.terminations,
      churn: f.churn,
      terminated: f.terminatedLog,
      launchedAt: f.launchLog,
      peakInstances: f.peak,
      finalDesired: f.desired,
      routed: f.routed,
      firstArrivalAt: f.firstArrivalAt,
      served: f.served,
      refused: f.refused,
      dropped: f.dropped,
      held: f.held,
      noCapacity: f.noCapacity,
      spilledOut: f.spilledOut,
      prewarmRequests: f.prewarmRequests,
      waitHistogram: f.waitHistogram,
      timeline: f.timeline,
    })),
  };

  function warmupOf(f: FleetRuntime, cause: string): number {
    const id = cause.split(' ')[0];
    const p = f.model.stepPolicies.find((x) => x.logicalId === id) ?? f.model.trackingPolicies.find((x) => x.logicalId === id);
    return p?.warmupSeconds ?? f.warmupDefault;
  }
}

const billed = new WeakMap<FleetRuntime, number>();

function billGone(f: FleetRuntime, removed: readonly Instance[]): void {
  let sum = billed.get(f) ?? 0;
  for (const i of removed) sum += Math.max(60, i.goneAt - Math.max(0, i.launchAt));
  billed.set(f, sum);
}

/** Instance-seconds of a fleet: launch to termination (EC2 bills per second, at least a minute). */
function instanceSeconds(f: FleetRuntime, end: number): number {
  let sum = billed.get(f) ?? 0;
  for (const i of f.instances) {
    const from = Math.max(0, i.launchAt);
    const to = Math.min(end, i.goneAt);
    if (to > from) sum += Math.max(i.launchAt >= 0 ? 60 : 0, to - from);
  }
  return sum;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** The last scheduled action that fired in the week before the start sets the group's bounds. */
function applyLastSchedule(f: FleetRuntime, startMs: number): void {
  const b = boundsAt(f.model, startMs);
  f.min = b.min;
  f.max = b.max;
}

/**
 * A group's minimum and maximum at an instant: the template's, or those the most recent scheduled
 * action set (looked up over the week before).
 */
export function boundsAt(fleet: FleetModel, epochMs: number): { min: number; max: number } {
  const actions = fleet.scheduledActions.map((a) => ({ a, match: unixCronMatcher(a.recurrence) }));
  let min = fleet.minSize;
  let max = fleet.maxSize;
  if (actions.length === 0) return { min, max };
  for (let m = 0; m < 7 * 24 * 60; m++) {
    const epoch = Math.floor(epochMs / 60_000) * 60_000 - m * 60_000;
    const hit = actions.find(({ a, match }) => match(localTime(epoch, a.timeZone), epoch));
    if (hit) {
      min = hit.a.minSize ?? min;
      max = hit.a.maxSize ?? max;
      break;
    }
  }
  return { min, max };
}

function evaluateAlarm(a: AlarmRuntime, s: number, store: MetricStore): boolean {
  if (s % evaluationInterval(a.rule.period) !== 0) return false;
  const range = rangeValues(a, s, store);
  return stepAlarm(a.tracker, nextAlarmState(range, a.rule, a.tracker.state), s);
}

function rangeValues(a: AlarmRuntime, s: number, store: MetricStore): Array<number | undefined> {
  const r = evaluationRange(a.rule.evaluationPeriods);
  const out: Array<number | undefined> = [];
  for (let i = r - 1; i >= 0; i--) {
    const end = s - i * a.rule.period;
    out.push(end - a.rule.period < 0 ? undefined : store.datapoint(a.query, end));
  }
  return out;
}

/** The most recent existing datapoints, up to N (what a step policy aggregates). */
function recentValues(a: AlarmRuntime, s: number, store: MetricStore): number[] {
  const existing = rangeValues(a, s, store).filter((v): v is number => v !== undefined);
  return existing.slice(Math.max(0, existing.length - a.rule.evaluationPeriods));
}

const NO_REQUESTS: readonly RequestGroup[] = [];

/** This second's arrivals: sampled from the rate, or read from the recorded trace. */
function arrivals(o: SimOptions, s: number, random: () => number): readonly RequestGroup[] {
  if (o.trace.kind === 'requests') return o.trace.at(s);
  const n = poisson(o.trace.rate(s), random);
  if (n === 0) return NO_REQUESTS;
  // Equally likely output sizes: the count spread evenly, the remainder to random sizes.
  const sizes = o.outputTokenSizes;
  const base = Math.floor(n / sizes.length);
  const out: RequestGroup[] = [];
  let extra = n - base * sizes.length;
  const start = Math.floor(random() * sizes.length);
  for (let i = 0; i < sizes.length; i++) {
    const idx = (start + i) % sizes.length;
    const count = base + (extra > 0 ? 1 : 0);
    if (extra > 0) extra--;
    if (count > 0) out.push({ count, promptTokens: o.promptTokens, outputTokens: sizes[idx] });
  }
  return out;
}

interface Publishers {
  perSecond(s: number, store: MetricStore): void;
  perTenSeconds(s: number, store: MetricStore): void;
  perMinute(s: number, store: MetricStore): void;
}

/**
 * The publishers of every metric a scaling resource reads:
 * - the on-instance publisher: one sample per instance every 10 s of `vllm_num_requests_waiting`,
 *   `vllm_num_requests_running` (summed over the instance's servers) and `vllm_kv_cache_usage_perc`,
 *   dimensions {AutoScalingGroupName, Fleet}, from the moment every server is healthy (userdata/
 *   metrics-publisher.sh); the group's Average is the mean over publishing instances;
 * - each proxy task: `PendingRequests` per tier (in flight at the tier, one sample a second) and the
 *   counters `NoCapacityRequests` and `RoutedRequests` (one datum per task per 10 s flush);
 * - Auto Scaling group metrics (1-minute granularity, `MetricsCollection`).
 * A metric no component publishes stops the run, naming it.
 */
function buildPublishers(model: SimModel, fleets: FleetRuntime[], tiers: FleetRuntime[]): Publishers {
  const secondly: Array<(s: number, store: MetricStore) => void> = [];
  const tenly: Array<(s: number, store: MetricStore) => void> = [];
  const minutely: Array<(s: number, store: MetricStore) => void> = [];
  const seen = new Set<string>();
  const queries: MetricQuery[] = [];
  for (const f of model.fleets) {
    for (const p of f.stepPolicies) for (const a of p.alarms) queries.push(a.query);
    for (const p of f.trackingPolicies) queries.push(p.query);
  }
  const problems: string[] = [];
  const tasks = model.proxy.tasks;
  for (const m of queries.flatMap(queryMetrics)) {
    const key = JSON.stringify(m);
    if (seen.has(key)) continue;
    seen.add(key);
    const handler = publisherFor(m, model, fleets, tiers, tasks);
    if (typeof handler === 'string') {
      problems.push(handler);
      continue;
    }
    (handler.every === 1 ? secondly : handler.every === 10 ? tenly : minutely).push(handler.publish);
  }
  if (problems.length) throw new ConfigError(problems, 'template for the fleet simulator');
  return {
    perSecond: (s, store) => secondly.forEach((p) => p(s, store)),
    perTenSeconds: (s, store) => tenly.forEach((p) => p(s, store)),
    perMinute: (s, store) => minutely.forEach((p) => p(s, store)),
  };
}

function publisherFor(
  m: MetricId,
  model: SimModel,
  fleets: FleetRuntime[],
  tiers: FleetRuntime[],
  tasks: number,
): { every: 1 | 10 | 60; publish: (s: number, store: MetricStore) => void } | string {
  const dims = m.dimensions;
  const dimNames = Object.keys(dims).sort().join(',');
  const where = `metric ${m.namespace}/${m.metricName} {${Object.entries(dims).map(([k, v]) => `${k}=${v}`).join(', ')}}`;
  if (m.namespace === model.namespace) {
    const fleetMetrics = Object.values(FleetMetric) as string[];
    if (fleetMetrics.includes(m.metricName)) {
      const f = fleets.find((x) => x.model.groupName === dims.AutoScalingGroupName && x.model.name === dims.Fleet);
      if (!f || dimNames !== 'AutoScalingGroupName,Fleet') return `${where}: got dimensions no fleet publishes, expected {AutoScalingGroupName, Fleet} of one fleet`;
      return {
        every: 10,
        publish: (s, store) => {
          const series = store.of(m);
          let serving = 0;
          let draining = 0;
          let idle = 0;
          for (const i of f.instances) {
            if (i.state === 'gone' || s < i.readyAt) continue;
            if (i.state === 'draining') draining++;
            else if (i.state === 'inService' && s >= i.registeredAt) serving++;
            else idle++;
          }
          const running = f.model.kind === 'tier' ? f.running.total : f.routerRunning;
          const perRunning = serving + draining > 0 ? running / (serving + draining) : 0;
          const perWaiting = serving > 0 ? f.waitingCount() / serving : 0;
          if (m.metricName === FleetMetric.RequestsWaiting) {
            series.put(s, perWaiting, serving);
            series.put(s, 0, draining + idle);
          } else if (m.metricName === FleetMetric.RequestsRunning) {
            series.put(s, perRunning, serving + draining);
            series.put(s, 0, idle);
          } else {
            // KV cache usage approximated by the share of sequence slots in use.
            series.put(s, f.maxSeqs > 0 ? perRunning / f.maxSeqs : 0, serving + draining);
            series.put(s, 0, idle);
          }
        },
      };
    }
    const proxyMetrics = [ProxyMetric.PendingRequests, ProxyMetric.NoCapacityRequests, ProxyMetric.RoutedRequests] as string[];
    if (proxyMetrics.includes(m.metricName)) {
      const t = tiers.find((x) => x.model.name === dims.Tier);
      if (!t || dimNames !== 'Tier') return `${where}: got dimensions the proxy does not publish, expected {Tier} of one tier`;
      if (m.metricName === ProxyMetric.PendingRequests) {
        return {
          every: 1,
          publish: (s, store) => store.of(m).put(s, (t.waitingCount() + t.running.total) / tasks, tasks),
        };
      }
      const counter = m.metricName === ProxyMetric.NoCapacityRequests ? () => t.noCapacityThisSecond : () => t.routedThisSecond;
      return {
        every: 1,
        publish: (s, store) => {
          const series = store.of(m);
          series.addToSum(s, counter());
          // Each task flushes one datum every 10 s, zeros included.
          if (s % 10 === 9) series.put(s, 0, tasks);
        },
      };
    }
    return `${where}: got a metric of the environment's namespace the simulator does not model, expected one of ${[...fleetMetrics, ...proxyMetrics].join(', ')}`;
  }
  if (m.namespace === 'AWS/AutoScaling') {
    const f = fleets.find((x) => x.model.groupName === dims.AutoScalingGroupName);
    if (!f || dimNames !== 'AutoScalingGroupName') return `${where}: got dimensions that name no group of this template, expected {AutoScalingGroupName}`;
    const value: Record<string, (s: number) => number> = {
      GroupDesiredCapacity: () => f.desired,
      GroupMinSize: () => f.min,
      GroupMaxSize: () => f.max,
      GroupInServiceInstances: () => f.instances.filter((i) => i.state === 'inService').length,
      GroupPendingInstances: () => f.instances.filter((i) => i.state === 'pending').length,
      GroupTerminatingInstances: () => f.instances.filter((i) => i.state === 'draining').length,
      GroupTotalInstances: () => f.instances.filter((i) => i.state !== 'gone').length,
    };
    const get = value[m.metricName];
    if (!get) return `${where}: got a group metric the simulator does not model, expected one of ${Object.keys(value).join(', ')}`;
    return { every: 60, publish: (s, store) => store.of(m).put(s, get(s), 1) };
  }
  return `${where}: got a namespace the simulator does not model, expected ${model.namespace} or AWS/AutoScaling`;
}
