import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { SimModel } from '../../tools/fleet-sim/model';
import { runSimulation, RunSettings } from '../../tools/fleet-sim/run';
import { FleetOutcome, SimOutcome } from '../../tools/fleet-sim/engine';
import { scaleOutAlarmWindow } from '../../tools/fleet-sim/scenarios';
import { synth, SYNTH_TIMEOUT_MS } from './helpers';

let dev: ReturnType<typeof synth>;
let prod: ReturnType<typeof synth>;
beforeAll(() => {
  dev = synth({ env: 'dev' });
  prod = synth({ env: 'prod' });
}, SYNTH_TIMEOUT_MS);

const SATURDAY_NIGHT = '2025-06-07T03:00';
const fleet = (o: SimOutcome, name: string) => o.fleets.find((f) => f.name === name) as FleetOutcome;
const run = (model: SimModel, settings: RunSettings) => runSimulation(model, dev.workload, { seed: 7, ...settings }).outcome;

describe('a tier at zero capacity', () => {
  it('holds its requests while its first instance starts, counts them as NoCapacityRequests, and refuses those held past maxHoldMs', () => {
    const model = synth({ env: 'dev', 'tiers.large.maxHoldSeconds': '60' }).model;
    expect(model.proxy.tiers[1]).toMatchObject({ whenEmpty: 'hold', maxHoldMs: 60_000 });
    const o = run(model, { trace: 'steady', rate: 0.1, hours: 1, start: SATURDAY_NIGHT, shares: { small: 0, large: 1 } });
    const large = fleet(o, 'large');
    expect(large.firstArrivalAt).toBeDefined();
    // NoCapacityRequests Sum over a minute >= 1, one datapoint, evaluated every minute.
    expect(large.launchedAt[0] - (large.firstArrivalAt as number)).toBeLessThanOrEqual(120);
    expect(large.noCapacity).toBe(large.held);
    expect(large.held).toBeGreaterThan(0);
    // The 70B instance boots for ~17 minutes: requests held for a minute are refused with a 503.
    expect(large.refused).toBeGreaterThan(0);
    expect(large.dropped).toBe(0);
    expect(large.served).toBeGreaterThan(0);
    expect(large.served + large.refused + large.dropped).toBeLessThanOrEqual(large.routed);
  });

  it('serves every held request once the instance is healthy within maxHoldMs', () => {
    // Launch within 2 min of the first request, 60 s boot, health checks: about 4 min at most.
    const model = dev.model;
    expect(model.proxy.tiers[1]).toMatchObject({ whenEmpty: 'hold', maxHoldMs: 300_000 });
    const o = run(model, { trace: 'steady', rate: 0.1, hours: 1, start: SATURDAY_NIGHT, shares: { small: 0, large: 1 }, boot: { large: 60 } });
    const large = fleet(o, 'large');
    expect(large.held).toBeGreaterThan(0);
    expect([large.refused, large.dropped]).toEqual([0, 0]);
  });

  it('spills the cheapest tier\'s requests to the next tier while it starts', () => {
    const model = dev.model;
    expect(model.proxy.tiers[0].whenEmpty).toBe('spill');
    const o = run(model, { trace: 'steady', rate: 0.5, hours: 1, start: SATURDAY_NIGHT, shares: { small: 1, large: 0 }, initial: { large: 1 } });
    const small = fleet(o, 'small');
    expect(small.spilledOut).toBeGreaterThan(0);
    expect(fleet(o, 'large').served).toBeGreaterThanOrEqual(small.spilledOut - fleet(o, 'large').dropped);
    expect(small.launchedAt.length).toBeGreaterThan(0);
  });

  it('spills the largest tier\'s requests to the smaller one when it is set to spill (the dispatcher\'s order goes back down), and still starts it', () => {
    const model = synth({ env: 'dev', 'tiers.large.whenEmpty': 'spill' }).model;
    const o = run(model, { trace: 'steady', rate: 0.1, hours: 1, start: SATURDAY_NIGHT, shares: { small: 0, large: 1 }, initial: { small: 1 } });
    const large = fleet(o, 'large');
    expect(large.noCapacity).toBeGreaterThan(0);
    expect(large.launchedAt[0] - (large.firstArrivalAt as number)).toBeLessThanOrEqual(120);
    expect(large.spilledOut).toBeGreaterThan(0);
    expect(fleet(o, 'small').served).toBeGreaterThanOrEqual(large.spilledOut);
    expect([large.held, large.refused, large.dropped]).toEqual([0, 0, 0]);
  }, SYNTH_TIMEOUT_MS);
});

describe('a tier whose minimum is zero at night', () => {
  it('keeps its instance through a sparse trickle instead of stopping and restarting it', () => {
    // One request every ~2 minutes: most minutes see no request at all.
    const o = run(dev.model, { trace: 'steady', rate: 0.008, hours: 4, start: SATURDAY_NIGHT, shares: { small: 0, large: 1 } });
    const large = fleet(o, 'large');
    expect(large.launches).toBe(1);
    expect(large.churn).toBe(0);
  });

  it('goes to zero once no request came for idleMinutesBeforeZero minutes, not before', () => {
    const o = run(dev.model, { trace: 'steady', rate: 0, hours: 1, start: SATURDAY_NIGHT, initial: { large: 1 } });
    const toZero = o.events.find((e) => e.fleet === 'large' && e.to === 0);
    expect(toZero?.cause).toMatch(/ScaleToZero/);
    // 30 one-minute datapoints in alarm, evaluated on the minute.
    expect(toZero!.second).toBeGreaterThanOrEqual(30 * 60);
    expect(toZero!.second).toBeLessThanOrEqual(32 * 60);
  });
});

describe('instances and their capacity', () => {
  it('a saturated large instance serves at the stated full-batch speed (16 sequences, 150 tok/s)', () => {
    const o = run(dev.model, { trace: 'steady', rate: 1, hours: 2, start: SATURDAY_NIGHT, shares: { small: 0, large: 1 }, initial: { large: 1 }, outputCv: 0, promptTokens: 0 });
    const perSecond = fleet(o, 'large').served / 7200;
    // 16 sequences x 150/16 tok/s each / 500 tokens per request = 0.3 requests per second.
    expect(perSecond).toBeGreaterThan(0.3 * 0.95);
    expect(perSecond).toBeLessThan(0.3 * 1.02);
  });

  it('target tracking takes the large tier to its maximum within one alarm window of a burst, not one instance per warm-up', () => {
    const o = run(prod.model, { trace: 'burst', load: 0.85, hours: 2, start: '2025-06-02T02:00', eventAtHours: 1, eventMinutes: 30, baseFraction: 0.1 });
    const largeModel = prod.model.fleets.find((f) => f.name === 'large')!;
    const desired = fleet(o, 'large').timeline.desired;
    const reachedAt = Array.from(desired).findIndex((d, minute) => minute >= 60 && d === largeModel.maxSize) * 60;
    expect(reachedAt).toBeGreaterThanOrEqual(3600);
    expect(reachedAt - 3600).toBeLessThanOrEqual((scaleOutAlarmWindow(largeModel) as number) + 60);
  });

  it('replaces an instance still unhealthy when the health-check grace period ends', () => {
    const o = run(prod.model, { trace: 'steady', rate: 0, hours: 2, start: SATURDAY_NIGHT, boot: { large: 1800 }, initial: { large: 0 } });
    const large = fleet(o, 'large');
    const replaced = o.events.filter((e) => e.fleet === 'large' && e.cause.startsWith('health check'));
    expect(replaced.length).toBeGreaterThanOrEqual(2);
    expect(large.churn).toBeGreaterThanOrEqual(2);
  });

  it('bills idle fleets their minimum, per second, at catalog prices', () => {
    const o = run(prod.model, { trace: 'steady', rate: 0, hours: 6, start: SATURDAY_NIGHT });
    expect(o.fleets.map((f) => [f.name, f.instanceSeconds / 3600, f.launches])).toEqual([['router', 12, 0], ['small', 12, 0], ['large', 6, 0]]);
  });
});

describe('the proxy\'s deadlines and admission', () => {
  // Twice what one large instance serves, all streamed, for an hour: a queue that never drains.
  const overload: RunSettings = { trace: 'steady', rate: 0.6, hours: 1, start: SATURDAY_NIGHT, shares: { small: 0, large: 1 }, initial: { large: 1 } };

  it('ends a streamed request still waiting at vLLM at the first-token deadline, not at the idle deadline', () => {
    // The rendered deadline (26 min) outlasts this hour; shorter ones are tried as a user would.
    expect([dev.model.proxy.firstTokenTimeoutMs, dev.model.proxy.streamIdleTimeoutMs]).toEqual([1_560_000, 30_000]);
    const at60 = fleet(run(dev.model, { ...overload, firstTokenTimeoutMs: 60_000 }), 'large');
    const at180 = fleet(run(dev.model, { ...overload, firstTokenTimeoutMs: 180_000 }), 'large');
    expect(at60.dropped).toBeGreaterThan(0);
    // Served requests waited up to the deadline: the p99 wait sits just under it.
    const waitedPast = (f: FleetOutcome, s: number) => f.waitHistogram.slice(s).reduce((a, b) => a + b, 0);
    expect(waitedPast(at60, 31)).toBeGreaterThan(0);
    expect(waitedPast(at60, 61)).toBe(0);
    expect(waitedPast(at180, 61)).toBeGreaterThan(0);
    expect(waitedPast(at180, 181)).toBe(0);
  });

  it('refuses with a 503, before any byte, what would wait past the deadline under wait-bounded admission', () => {
    const admitted = fleet(run(dev.model, { ...overload, firstTokenTimeoutMs: 180_000, admissionWaitShare: 0.5 }), 'large');
    expect(admitted.dropped).toBe(0);
    expect(admitted.refused).toBeGreaterThan(0);
    // One instance keeps serving at its full rate (~0.29 req/s) while the rest is refused.
    expect(admitted.served).toBeGreaterThan(0.25 * 3600);
    expect(admitted.refused).toBeGreaterThan(0.25 * 3600);
    // The estimate is of the mean: single requests wait longer than 90 s, none past the deadline.
    const waitedPast = (s: number) => admitted.waitHistogram.slice(s).reduce((a, b) => a + b, 0);
    expect(waitedPast(91)).toBeGreaterThan(0);
    expect(waitedPast(181)).toBe(0);
  });
});

describe('schedules', () => {
  it('raise the minimum at 08:00 local on weekdays and lower it at 19:00, and pre-warm every serving instance every 5 minutes outside business hours', () => {
    const o = run(prod.model, { trace: 'steady', rate: 0, hours: 24, start: '2025-06-02T00:00' });
    const raise = o.events.find((e) => e.fleet === 'small' && e.cause.includes('BusinessHoursStart'));
    expect(raise).toMatchObject({ second: 8 * 3600, from: 2, to: 4 });
    expect(fleet(o, 'small').timeline.desired[8 * 60 + 30]).toBe(4);
    // 00:00-07:55 and 19:00-23:55: 96 + 60 firings; the router runs 2 instances of 2 servers.
    expect(fleet(o, 'router').prewarmRequests).toBe(156 * 2 * 2);
  });

  it('pre-warm every 5 minutes all day on the days outside the business week (their own schedule)', () => {
    const o = run(prod.model, { trace: 'steady', rate: 0, hours: 2, start: '2025-06-07T10:00' });
    expect(fleet(o, 'small').prewarmRequests).toBe(24 * 2);
    expect(fleet(o, 'large').prewarmRequests).toBe(24 * 1);
  });
});

describe('traces', () => {
  it('replays a CSV of requests, honouring a pinned tier', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fleet-sim-'));
    const file = path.join(dir, 'trace.csv');
    const rows = ['time,prompt_tokens,output_tokens,tier'];
    for (let i = 0; i < 600; i++) rows.push(`${i * 3},200,${100 + (i % 7) * 50},${i % 5 === 0 ? 'large' : ''}`);
    writeFileSync(file, `${rows.join('\n')}\n`);
    const o = run(prod.model, { trace: file, start: SATURDAY_NIGHT, largeShare: 0 });
    expect(o.durationSeconds).toBe(1798);
    expect([fleet(o, 'small').routed, fleet(o, 'large').routed]).toEqual([480, 120]);
  });

  it('is deterministic for a seed', () => {
    const a = run(prod.model, { trace: 'diurnal', hours: 3, seed: 3 });
    const b = run(prod.model, { trace: 'diurnal', hours: 3, seed: 3 });
    const c = run(prod.model, { trace: 'diurnal', hours: 3, seed: 4 });
    expect(Array.from(a.arrivalsPerMinute)).toEqual(Array.from(b.arrivalsPerMinute));
    expect(Array.from(a.arrivalsPerMinute)).not.toEqual(Array.from(c.arrivalsPerMinute));
  });
});
