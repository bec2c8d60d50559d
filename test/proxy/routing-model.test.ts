import { TEXT_FEATURES, textFeatures } from '../../proxy/src/routing/features';
import { buildCentroids, centroidZ, CompiledModel, exemplarMargin, promptScore } from '../../proxy/src/routing/model';
import { embeddingScore, normalize } from '../../proxy/src/routing/embedding';
import { routeConfidence } from '../../proxy/src/routing/decide';
import { routingDataProblems, TEXT_FEATURE_NAMES } from '../../contracts/routing-data';

const feats = (text: string): Record<string, number> => {
  const out = new Float64Array(TEXT_FEATURES.length);
  textFeatures(text, out);
  return Object.fromEntries(TEXT_FEATURES.map((f, i) => [f, out[i]]));
};

describe('text features', () => {
  test('the proxy computes the features the contract names, in its order', () => {
    expect([...TEXT_FEATURES]).toEqual([...TEXT_FEATURE_NAMES]);
  });

  test('counts on a hand-checked prompt', () => {
    const f = feats('Is 12.5 + 3 = 15.5?\nStatement 1 | not (x) true');
    expect(f.log_chars).toBeCloseTo(Math.log1p(46), 12);
    // Is, Statement, not, x, true: 5 words, 19 letters, one word of 9+ letters
    expect(f.log_words).toBeCloseTo(Math.log1p(5), 12);
    expect(f.mean_word_len).toBeCloseTo(19 / 5, 12);
    expect(f.long_word_share).toBeCloseTo(1 / 5, 12);
    // numbers 12.5, 3, 15.5, 1 (decimals count once); digits 1,2,5,3,1,5,5,1
    expect(f.log_numbers).toBeCloseTo(Math.log1p(4), 12);
    expect(f.digit_share).toBeCloseTo(8 / 46, 12);
    expect(f.log_math_marks).toBeCloseTo(Math.log1p(2), 12); // + =
    expect(f.upper_share).toBeCloseTo(2 / 19, 12);
    expect(f.log_lines).toBeCloseTo(Math.log1p(2), 12);
    expect(f.question_marks).toBe(1);
    expect(f.log_pipes).toBeCloseTo(Math.log1p(1), 12);
    expect(f.log_parens).toBeCloseTo(Math.log1p(1), 12);
    expect(f.negation).toBe(1);
  });

  test('an empty text gives finite zeros, never NaN', () => {
    expect(Object.values(feats('')).every((v) => Number.isFinite(v))).toBe(true);
  });
});

describe('learned model', () => {
  const spec = { features: ['log_chars', 'log_pipes', 'centroid_z'], mean: [5, 0.1, 0.2], scale: [2, 0.5, 1.5], weights: [0.8, 0.4, -0.3], intercept: -0.25 };

  test('scores sigmoid(intercept + sum of weights times standardized features)', () => {
    const text = 'Statement 1 | a | b';
    const f = feats(text);
    const z = 0.7;
    const lin = -0.25 + (0.8 * (f.log_chars - 5)) / 2 + (0.4 * (f.log_pipes - 0.1)) / 0.5 + (-0.3 * (z - 0.2)) / 1.5;
    expect(new CompiledModel(spec).score(text, z)).toBeCloseTo(1 / (1 + Math.exp(-lin)), 12);
  });

  test('without an embedding the centroid feature sits at its training mean', () => {
    const m = new CompiledModel(spec);
    expect(m.score('hello there', undefined)).toBeCloseTo(m.score('hello there', 0.2), 12);
  });

  test('a malformed weights document is refused with every problem', () => {
    expect(() => new CompiledModel({ ...spec, scale: [1, 0, 1], features: ['log_chars', 'log_pipes', 'mood'] })).toThrow(/features\.2: got "mood".*\n.*scale: got .*, expected standard deviations > 0/s);
  });

  test('the centroid feature is the margin standardized by where the exemplars fall', () => {
    const simple = [[1, 0, 0], [0.9, 0.1, 0]];
    const complex = [[0, 1, 0], [0, 0.8, 0.2]];
    const c = buildCentroids(simple, complex, spec);
    const m = exemplarMargin(simple, complex, c);
    expect(c.learned?.margin).toEqual(m);
    const v = [0.2, 0.9, 0.1];
    const n = normalize(v);
    const dist = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.hypot(...Array.from(a, (x, i) => x - b[i]));
    expect(centroidZ(v, c, m)).toBeCloseTo((dist(n, c.simple) - dist(n, c.complex) - m.mean) / m.sd, 12);
    expect(centroidZ(v, c, m)).toBeGreaterThan(0);
    expect(promptScore('a question', v, c, 1)).toBeCloseTo(new CompiledModel(spec).score('a question', centroidZ(v, c, m)), 12);
  });

  test('a text-only model never computes the margin, yet refuses a vector of the wrong size', () => {
    const textOnly = { features: ['log_chars'], mean: [3], scale: [1], weights: [1], intercept: 0 };
    const c = buildCentroids([[1, 0, 0]], [[0, 1, 0]], textOnly);
    expect(c.learned?.usesEmbedding).toBe(false);
    expect(promptScore('some text', [0, 0, 1], c, 1)).toBeCloseTo(new CompiledModel(textOnly).score('some text', undefined), 12);
    expect(() => promptScore('some text', [0, 1], c, 1)).toThrow(/2 dimensions, centroids 3/);
  });

  test('routing data without weights keeps the centroid logistic', () => {
    const c = buildCentroids([[1, 0]], [[0, 1]]);
    expect(c.learned).toBeUndefined();
    expect(promptScore('x', [0.3, 0.7], c, 2)).toBe(embeddingScore([0.3, 0.7], c, 2));
  });
});

describe('routing data document', () => {
  test('valid documents pass, with or without weights', () => {
    expect(routingDataProblems({ simple: ['a'], complex: ['b'] })).toEqual([]);
    expect(routingDataProblems({ simple: ['a'], complex: ['b'], model: { features: ['negation'], mean: [0], scale: [1], weights: [1], intercept: 0 } })).toEqual([]);
  });

  test('every problem is a path: got, expected line', () => {
    expect(routingDataProblems({ simple: ['a', ' '], complex: 'b', extra: 1, model: { features: ['negation'], mean: [0, 1], scale: [1], weights: [1], intercept: 'x' } })).toEqual([
      'simple.1: got " ", expected a non-empty string',
      'complex: got "b", expected a non-empty list of prompts',
      'extra: got 1, expected no such key (only simple, complex and model)',
      'model.mean: got [0,1], expected 1 finite numbers (one per feature)',
      'model.intercept: got "x", expected a finite number',
    ]);
  });
});

describe('route confidence', () => {
  test.each([
    [[0.65], 0.5, 0.15],
    [[0.65], 0.65, 0],
    [[0.3, 0.7], 0.45, 0.15],
    [[0.3, 0.7], 0.9, 0.2],
  ])('boundaries %j, score %d: %d', (b, s, want) => {
    expect(routeConfidence(b, s)).toBeCloseTo(want, 12);
  });

  test('no score or no boundary: undefined', () => {
    expect(routeConfidence([0.65], undefined)).toBeUndefined();
    expect(routeConfidence([], 0.4)).toBeUndefined();
  });
});
