import * as path from 'node:path';
import { apgr, apgrInterval, bootstrap, figures, fullCurve, oracleCurve, oracleFigures, quantile, randomFigures, routeLlmCurve, shareForQuality, targets } from '../../tools/route-eval/metrics';
import { loadDataset } from '../../tools/route-eval/dataset';

// Four prompts worked by hand (see each expectation).
const labels = { small: [0, 1, 1, 0], large: [1, 1, 0, 1] };
const scores = [0.9, 0.7, 0.3, 0.1];

describe('RouteLLM curve and APGR, by hand', () => {
  test('quantiles interpolate linearly, like numpy and pandas.qcut', () => {
    expect(quantile([0.1, 0.3, 0.7, 0.9], 0.5)).toBeCloseTo(0.5, 12);
    expect(quantile([1, 2, 3, 4, 5], 0.1)).toBeCloseTo(1.4, 12);
  });

  test('two bins: thresholds 0.1, 0.5 and 0.9 (the last strict) give three points', () => {
    // >= 0.1: all large (0.75); >= 0.5: the first two large, the rest small ((1+1+1+0)/4); > 0.9: none (0.5).
    expect(routeLlmCurve(scores, labels, 2).map((p) => [p.share, p.quality])).toEqual([[0, 0.5], [0.5, 0.75], [1, 0.75]]);
  });

  test('APGR = (AUC - small area) / (large area - small area)', () => {
    // AUC = 0.5 * (0.5 + 0.75) / 2 + 0.5 * 0.75 = 0.6875; small 0.5, large 0.75 over a span of 1.
    expect(apgr(scores, labels, 2)).toBeCloseTo((0.6875 - 0.5) / 0.25, 12);
  });

  test('ties move together: a constant score is the random line, APGR 0.5', () => {
    expect(apgr([0.4, 0.4, 0.4, 0.4], labels)).toBeCloseTo(0.5, 12);
  });

  test('a perfect ranking beats 1 when the large tier is sometimes worse', () => {
    expect(apgr([1, 0.5, 0, 0.9], labels, 4)).toBeGreaterThan(1);
  });
});

describe('full curve, shares and targets', () => {
  test('one point per distinct score, from share 0 to 1', () => {
    expect(fullCurve(scores, labels).map((p) => [p.share, p.quality])).toEqual([[0, 0.5], [0.25, 0.75], [0.5, 0.75], [0.75, 0.5], [1, 0.75]]);
  });

  test('share for a quality target interpolates inside the first segment that reaches it', () => {
    const c = fullCurve(scores, labels);
    expect(shareForQuality(c, 0.625)).toBeCloseTo(0.125, 12);
    expect(shareForQuality(c, 0.5)).toBe(0);
    expect(shareForQuality(c, 0.8)).toBeUndefined();
  });

  test('targets: 50% and 80% of the gap, 95% of the large tier', () => {
    const t = targets(labels);
    expect([t.small, t.large, t.gap50, t.gap80]).toEqual([0.5, 0.75, 0.625, 0.7]);
    expect(t.large95).toBeCloseTo(0.7125, 12);
    const f = figures(scores, labels, 2);
    expect(f.share50).toBeCloseTo(0.125, 12);
    expect(f.share80).toBeCloseTo(0.2, 12);
    expect(f.share95Large).toBeCloseTo(0.2125, 12);
  });

  test('oracle as RouteLLM draws it: small quality plus the gain of min(share, winners)', () => {
    // two of four prompts gain: 0.5 at share 0, 1.0 from share 0.5 on; AUC 0.875 -> APGR 1.5
    expect(oracleCurve(labels, 2).map((p) => [p.share, p.quality])).toEqual([[0, 0.5], [0.5, 1], [1, 1]]);
    expect(oracleFigures(labels, 2).apgr).toBeCloseTo(1.5, 12);
  });
});

describe('bootstrap', () => {
  test('a statistic that does not depend on the sample has a zero-width interval', () => {
    expect(bootstrap(() => 3, 10, { iters: 50 })).toEqual({ lo: 3, hi: 3 });
  });

  test('resampling groups keeps each group whole', () => {
    const groups = ['a', 'a', 'b', 'b'];
    const seen = new Set<string>();
    bootstrap((idx) => {
      const counts = new Map<string, number>();
      for (const i of idx) counts.set(groups[i], (counts.get(groups[i]) ?? 0) + 1);
      for (const c of counts.values()) seen.add(String(c % 2));
      return 0;
    }, 4, { iters: 100, groups });
    expect([...seen]).toEqual(['0']);
  });

  test('the interval of a router brackets its APGR', () => {
    const n = 400;
    const small = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const large = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const s = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0) + (i % 7) / 10);
    const a = apgr(s, { small, large });
    const ci = apgrInterval(s, { small, large }, { iters: 200 });
    expect(ci.lo).toBeLessThanOrEqual(a);
    expect(ci.hi).toBeGreaterThanOrEqual(a);
  });
});

describe('baselines on the shipped set', () => {
  const ds = loadDataset(path.join(__dirname, '..', '..', 'tools', 'route-eval', 'data', 'mmlu-gsm8k.jsonl'), 2048);
  const l = { small: ds.items.map((i) => i.small), large: ds.items.map((i) => i.large) };

  test('15,361 labelled prompts in 58 groups', () => {
    expect(ds.items.length).toBe(15_361);
    expect(new Set(ds.items.map((i) => i.group)).size).toBe(58);
    expect(ds.labelled).toBe(true);
  });

  test('the random router scores APGR near 0.5', () => {
    expect(Math.abs(randomFigures(l, 10, 0).apgr - 0.5)).toBeLessThan(0.02);
  });

  test('prompt length 0.58 and the oracle 1.27, as published with the set', () => {
    expect(apgr(ds.items.map((i) => i.text.length), l)).toBeCloseTo(0.58, 2);
    expect(oracleFigures(l).apgr).toBeCloseTo(1.27, 2);
  });
});
