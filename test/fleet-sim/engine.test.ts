import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readSimModel, SimModel } from '../../tools/fleet-sim/model';
import { runSimulation, RunSettings } from '../../tools/fleet-sim/run';
import { FleetOutcome, SimOutcome } from '../../tools/fleet-sim/engine';
import { fixedTemplate } from './fixed-template';
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
    const model = readSimModel(fixedTemplate(dev.template, { maxHoldMs: 60_000 }));
    const o = run(model, { trace: 'steady', rate: 0.1, hours: 1, start: SATURDAY_NIGHT, shares: { small: 0, large: 1 } });
    const large = fleet(o, 'large');
    expect(large.firstArrivalAt).toBeDefined();
    // NoCapacityRequests Sum over 10 s >= 1, one datapoint: the launch follows within one evaluation.
    expect(large.launchedAt[0] - (large.firstArrivalAt as number)).toBeLessThanOrEqual(20);
    expect(large.noCapacity).toBe(large.held);
    expect(large.held).toBeGreaterThan(0);
    // The 70B instance boots for ~7.6 minutes: requests held for a minute are refused with a 503.
    expect(large.refused).toBeGreaterThan(0);
    expect(large.dropped).toBe(0);
    expect(large.served).toBeGreaterThan(0);
    expect(large.served + large.refused + large.dropped).toBeLessThanOrEqual(large.routed);
  });

  it('serves every held request once the instance is healthy within maxHoldMs', () => {
    const model = readSimModel(fixedTemplate(dev.template, { maxHoldMs: 180_000 }));
    const o = run(model, { trace: 'steady', rate: 0.1, hours: 1, start: SATURDAY_NIGHT, shares: { small: 0, large: 1 }, boot: { large: 60 } });
    const large = fleet(o, 'large');
    expect(large.held).toBeGreaterThan(0);
    expect([large.refused, large.dropped]).toEqual([0, 0]);
  });

  it('spills the cheapest tier\'s requests to the next tier while it starts', () => {
    const model = readSimModel(fixedTemplate(dev.template));
    const o = run(model, { trace: 'steady', rate: 0.5, hours: 1, start: SATURDAY_NIGHT, shares: { small: 1, large: 0 }, initial: { large: 1 } });
    const small = fleet(o, 'small');
    expect(small.spilledOut).toBeGreaterThan(0);
    expect(fleet(o, 'large').served).toBeGreaterThanOrEqual(small.spilledOut - fleet(o, 'large').dropped);
    expect(small.launchedAt.length).toBeGreaterThan(0);
  });

  it('never starts on the in-flight gauge when the proxy fails over at once: nothing stays in flight on an empty tier', () => {
    const o = run(dev.model, { trace: 'steady', rate: 0.1, hours: 1, start: SATURDAY_NIGHT, shares: { small: 0, large: 1 } });
    const large = fleet(o, 'large');
    expect(large.launchedAt).toEqual([]);
    expect(large.refused).toBe(large.routed);
    expect(large.noCapacity).toBeGreaterThan(0);
  });
});

describe('instances and their capacity', () => {
  it('a saturated large instance serves at the stated full-batch speed (16 sequences, 150 tok/s)', () => {
    const model = readSimModel(fixedTemplate(dev.template));
    const o = run(model, { trace: 'steady', rate: 1, hours: 2, start: SATURDAY_NIGHT, shares: { small: 0, large: 1 }, initial: { large: 1 }, outputCv: 0, promptTokens: 0 });
    const perSecond = fleet(o, 'large').served / 7200;
    // 16 sequences x 150/16 tok/s each / 500 tokens per request = 0.3 requests per second.
    expect(perSecond).toBeGreaterThan(0.3 * 0.95);
    expect(perSecond).toBeLessThan(0.3 * 1.02);
  });

  it('adds one instance per warm-up while step scaling counts only warmed instances (today\'s large tier under a burst)', () => {
    const o = run(prod.model, { trace: 'burst', load: 0.85, hours: 3, start: '2025-06-02T02:00', eventAtHours: 1, eventMinutes: 90, baseFraction: 0.1 });
    const launches = fleet(o, 'large').launchedAt;
    expect(launches.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < launches.length; i++) {
      // 45 s to InService plus the 900 s default instance warmup.
      expect(launches[i] - launches[i - 1]).toBeGreaterThanOrEqual(945);
    }
  });

  it('replaces an instance still unhealthy when the health-check grace period ends', () => {
    const o = run(prod.model, { trace: 'steady', rate: 0, hours: 2, start: SATURDAY_NIGHT, boot: { large: 1200 }, initial: { large: 0 } });
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

describe('schedules', () => {
  it('raise the minimum at 08:00 local on weekdays and lower it at 19:00, and pre-warm every serving instance every 5 minutes outside business hours', () => {
    const o = run(prod.model, { trace: 'steady', rate: 0, hours: 24, start: '2025-06-02T00:00' });
    const raise = o.events.find((e) => e.fleet === 'small' && e.cause.includes('BusinessHoursStart'));
    expect(raise).toMatchObject({ second: 8 * 3600, from: 2, to: 4 });
    expect(fleet(o, 'small').timeline.desired[8 * 60 + 30]).toBe(4);
    // 00:00-07:55 and 19:00-23:55: 96 + 60 firings; the router runs 2 instances of 2 servers.
    expect(fleet(o, 'router').prewarmRequests).toBe(156 * 2 * 2);
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
