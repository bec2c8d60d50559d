import { apgr } from '../../tools/route-eval/metrics';
import { fitLogistic, groupFolds, nestedLeaveGroupOut, predictLogit, type Learner } from '../../tools/route-eval/train';

/** Six topics with very different gains of the large tier, 40 prompts each; no prompt-level signal. */
function topics() {
  const groups: string[] = [];
  const small: number[] = [];
  const large: number[] = [];
  const rates = [0.05, 0.1, 0.2, 0.4, 0.6, 0.8];
  rates.forEach((rate, g) => {
    for (let i = 0; i < 40; i++) {
      groups.push(`topic-${g}`);
      small.push(0);
      large.push(i < rate * 40 ? 1 : 0);
    }
  });
  return { groups, labels: { small, large } };
}

/** A router that only memorizes each training group's mean gain: it knows nothing about an unseen group. */
function groupMemorizer(groups: string[], labels: { small: number[]; large: number[] }, trainedOn: Set<number>[]): Learner<number> {
  return {
    grid: [1, 2],
    fit(train) {
      trainedOn.push(new Set(train));
      const sum = new Map<string, [number, number]>();
      for (const i of train) {
        const [s, n] = sum.get(groups[i]) ?? [0, 0];
        sum.set(groups[i], [s + labels.large[i] - labels.small[i], n + 1]);
      }
      return (test) => Float64Array.from(test, (i) => {
        const e = sum.get(groups[i]);
        return e ? e[0] / e[1] : 0;
      });
    },
  };
}

describe('nested leave-group-out', () => {
  test('no fit, outer or inner, ever sees a row of the group it is scored on', () => {
    const { groups, labels } = topics();
    const fits: Set<number>[] = [];
    const ho = nestedLeaveGroupOut(groups, labels, groupMemorizer(groups, labels, fits));
    expect(ho.folds).toHaveLength(6);
    for (const f of ho.folds) {
      for (const g of f.test) expect(f.trainGroups.has(g)).toBe(false);
    }
    // 6 outer folds x (2 grid values x 4 inner folds + 1 final fit)
    expect(fits).toHaveLength(6 * 9);
    let fold = 0;
    for (let k = 0; k < fits.length; k += 9) {
      const held = ho.folds[fold++].test[0];
      for (const rows of fits.slice(k, k + 9)) for (const i of rows) expect(groups[i]).not.toBe(held);
    }
  });

  test('a group memorizer is perfect in distribution and exactly random held out (leakage would lift it)', () => {
    const { groups, labels } = topics();
    const learner = groupMemorizer(groups, labels, []);
    const all = Int32Array.from(groups.keys());
    expect(apgr(learner.fit(all, 1)(all), labels)).toBeGreaterThan(0.65);
    expect(apgr(nestedLeaveGroupOut(groups, labels, learner).scores, labels)).toBeCloseTo(0.5, 12);
  });

  test('grouped folds keep every group in one fold and use every fold', () => {
    const groups = Array.from({ length: 100 }, (_, i) => `g${i % 10}`);
    const f = groupFolds(groups, 4);
    const foldOf = new Map<string, number>();
    groups.forEach((g, i) => {
      expect(foldOf.get(g) ?? f[i]).toBe(f[i]);
      foldOf.set(g, f[i]);
    });
    expect(new Set(f).size).toBe(4);
  });
});

describe('logistic regression', () => {
  test('recovers the direction of a separable signal and ranks by it', () => {
    const n = 300;
    const data = new Float64Array(n * 2);
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = (i % 10) / 10;
      data[i * 2] = a;
      data[i * 2 + 1] = (i * 7919) % 13; // noise
      y.push(a > 0.45 ? 1 : 0);
    }
    const x = { rows: n, cols: 2, data };
    const m = fitLogistic(x, y, 1e-3);
    expect(m.weights[0]).toBeGreaterThan(1);
    expect(Math.abs(m.weights[1])).toBeLessThan(m.weights[0] / 5);
    const p = predictLogit(m, x);
    expect(p[9]).toBeGreaterThan(p[1]);
  });

  test('stronger regularization shrinks the weights', () => {
    const x = { rows: 4, cols: 1, data: Float64Array.from([0, 1, 2, 3]) };
    const y = [0, 0, 1, 1];
    expect(Math.abs(fitLogistic(x, y, 1).weights[0])).toBeLessThan(Math.abs(fitLogistic(x, y, 0.01).weights[0]));
  });
});

describe('percentile-like spread of the shipped model', () => {
  test('same ranking, probabilities centred on 0.5 and spread over (0, 1)', () => {
    const { spreadLikePercentiles } = jest.requireActual('../../tools/route-eval/routers') as typeof import('../../tools/route-eval/routers');
    const n = 500;
    const data = Float64Array.from({ length: n }, (_, i) => (i % 50) / 50);
    const x = { rows: n, cols: 1, data };
    const y = Array.from({ length: n }, (_, i) => ((i % 50) / 50 > 0.7 ? 0.6 : 0.45));
    const m = fitLogistic(x, y, 1e-3);
    const s = spreadLikePercentiles(m, x);
    const before = predictLogit(m, x);
    const after = predictLogit(s, x);
    const p = Array.from(after, (v) => 1 / (1 + Math.exp(-v)));
    for (let i = 1; i < n; i++) expect(Math.sign(after[i] - after[0])).toBe(Math.sign(before[i] - before[0]));
    expect(p.reduce((a, b) => a + b, 0) / n).toBeCloseTo(0.5, 1);
    expect(Math.min(...p)).toBeLessThan(0.1);
    expect(Math.max(...p)).toBeGreaterThan(0.9);
  });
});
