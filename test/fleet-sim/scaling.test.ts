import { applyStep, CapacityView, matchStep, percentChange, trackingScaleIn, trackingScaleOut } from '../../tools/fleet-sim/scaling';
import type { StepAdjustment } from '../../tools/fleet-sim/model';

const view = (v: Partial<CapacityView>): CapacityView => ({ desired: 10, min: 1, max: 20, warmed: 10, inService: 10, terminating: 0, ...v });

// The user guide's example: threshold 50%, PercentChangeInCapacity steps for scale out and in.
const OUT: StepAdjustment[] = [{ lower: 0, upper: 10, adjustment: 0 }, { lower: 10, upper: 20, adjustment: 10 }, { lower: 20, adjustment: 30 }];
const IN: StepAdjustment[] = [{ lower: -10, upper: 0, adjustment: 0 }, { lower: -20, upper: -10, adjustment: -10 }, { upper: -20, adjustment: -30 }];

describe('step adjustments', () => {
  it('picks the step by the breach size: lower bound inclusive above the threshold, upper bound inclusive below it', () => {
    expect(matchStep(OUT, 59.9, 50)?.adjustment).toBe(0);
    expect(matchStep(OUT, 60, 50)?.adjustment).toBe(10);
    expect(matchStep(OUT, 70, 50)?.adjustment).toBe(30);
    // "If the metric value gets to 40, the desired capacity decreases"; "falls to 30 ... by another 30%".
    expect(matchStep(IN, 40.1, 50)?.adjustment).toBe(0);
    expect(matchStep(IN, 40, 50)?.adjustment).toBe(-10);
    expect(matchStep(IN, 30.1, 50)?.adjustment).toBe(-10);
    expect(matchStep(IN, 30, 50)?.adjustment).toBe(-30);
    // The project's queue policies: +1 from 20 to 60 waiting, +2 above (threshold 20).
    const queue: StepAdjustment[] = [{ lower: 0, upper: 40, adjustment: 1 }, { lower: 40, adjustment: 2 }];
    expect([20, 59.9, 60].map((v) => matchStep(queue, v, 20)?.adjustment)).toEqual([1, 1, 2]);
    expect(matchStep(queue, 19, 20)).toBeUndefined();
  });

  it('rounds PercentChangeInCapacity as documented', () => {
    expect(percentChange(10, 127)).toBe(12);
    expect(percentChange(1, 67)).toBe(1);
    expect(percentChange(1, -58)).toBe(-1);
    expect(percentChange(10, -66.7)).toBe(-6);
    expect(percentChange(4, 25, 2)).toBe(2);
  });

  it('during warm-up adds only what the breach asks beyond the capacity already being added (guide example)', () => {
    // 10 warmed instances, the metric reaches 60: +10% of 10.
    expect(applyStep(view({}), 'PercentChangeInCapacity', 10)).toBe(11);
    // 62 while the new instance warms up: 10% of the 10 warmed is 11, already desired.
    expect(applyStep(view({ desired: 11, inService: 11 }), 'PercentChangeInCapacity', 10)).toBeUndefined();
    // 70 while it warms up: 30% of 10 warmed -> 13, so 2 more.
    expect(applyStep(view({ desired: 11, inService: 11 }), 'PercentChangeInCapacity', 30)).toBe(13);
  });

  it('counts terminating instances when scaling in, so a repeated breach removes nothing twice', () => {
    expect(applyStep(view({ desired: 4, warmed: 4, inService: 4 }), 'ChangeInCapacity', -1)).toBe(3);
    expect(applyStep(view({ desired: 3, warmed: 3, inService: 3, terminating: 1 }), 'ChangeInCapacity', -1)).toBeUndefined();
  });

  it('keeps within the group bounds and sets ExactCapacity', () => {
    expect(applyStep(view({ desired: 19, warmed: 19, inService: 19, max: 20 }), 'ChangeInCapacity', 5)).toBe(20);
    expect(applyStep(view({ desired: 2, min: 2, inService: 2, warmed: 2 }), 'ChangeInCapacity', -1)).toBeUndefined();
    expect(applyStep(view({ desired: 0, warmed: 0, inService: 0, min: 0 }), 'ExactCapacity', 1)).toBe(1);
  });
});

describe('target tracking', () => {
  it('scales out in proportion to metric / target, rounding up, over warmed instances', () => {
    expect(trackingScaleOut(view({ desired: 4, warmed: 4, inService: 4 }), 60, 50)).toBe(5);
    expect(trackingScaleOut(view({ desired: 4, warmed: 4, inService: 4 }), 100, 50)).toBe(8);
    // One instance still warming: 3 warmed x 1.2 = 3.6 -> 4, already desired.
    expect(trackingScaleOut(view({ desired: 4, warmed: 3, inService: 4 }), 60, 50)).toBeUndefined();
    expect(trackingScaleOut(view({ desired: 4, warmed: 4, inService: 4 }), 50, 50)).toBeUndefined();
  });

  it('scales in only by whole instances whose removal keeps the metric at or under target', () => {
    // Removing 1.5 instances would reach the target: remove one.
    expect(trackingScaleIn(view({ desired: 4, warmed: 4, inService: 4 }), 31.25, 50)).toBe(3);
    // Removing one would push the metric over the target: keep all.
    expect(trackingScaleIn(view({ desired: 4, warmed: 4, inService: 4 }), 40, 50)).toBeUndefined();
    expect(trackingScaleIn(view({ desired: 1, warmed: 1, inService: 1, min: 0 }), 0, 50)).toBe(0);
    expect(trackingScaleIn(view({ desired: 2, warmed: 2, inService: 2, min: 2 }), 0, 50)).toBeUndefined();
  });
});
