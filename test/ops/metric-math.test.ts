import { evaluate, evaluateQueries, parse } from './metric-math';

const at = (values: Record<string, number | undefined>) => (id: string) => values[id];

describe('metric-math evaluator (the subset the stack emits)', () => {
  test('precedence: * before +, comparisons after arithmetic, AND before OR', () => {
    expect(evaluate('1 + 2 * 3', at({}))).toBe(7);
    expect(evaluate('(1 + 2) * 3', at({}))).toBe(9);
    expect(evaluate('a + b < 5', at({ a: 2, b: 2 }))).toBe(1);
    expect(evaluate('1 > 2 AND 1 < 2 OR 3 == 3', at({}))).toBe(1);
    expect(evaluate('-a * 2', at({ a: 3 }))).toBe(-6);
  });

  test('missing data: 0 next to a value, no datapoint when both are missing, FILL replaces it', () => {
    expect(evaluate('a + b', at({ a: 2 }))).toBe(2);
    expect(evaluate('a + b', at({}))).toBeUndefined();
    expect(evaluate('FILL(a, 7) * 2', at({}))).toBe(14);
    expect(evaluate('IF(FILL(d, 0) < 1, FILL(n, 0), 0)', at({ n: 3 }))).toBe(3);
    expect(evaluate('IF(FILL(d, 0) < 1, FILL(n, 0), 0)', at({ d: 1, n: 3 }))).toBe(0);
    expect(evaluate('a / b', at({ a: 1, b: 0 }))).toBeUndefined();
  });

  test('rejects what it does not implement', () => {
    expect(() => parse('SUM(METRICS())')).toThrow(/outside|unexpected/);
    expect(() => evaluate('RATE(m1)', at({ m1: 1 }))).toThrow(/RATE\/1 is outside the supported subset/);
    expect(() => parse('a +')).toThrow(/unexpected end/);
  });

  test('queries: metric stats feed expressions, the one returning data is the result', () => {
    const queries = [
      { Id: 'a', MetricStat: { Metric: { Namespace: 'N', MetricName: 'A', Dimensions: [{ Name: 'X', Value: 'x' }] }, Stat: 'Sum' }, ReturnData: false },
      { Id: 'twice', Expression: 'a * 2', ReturnData: false },
      { Id: 'out', Expression: 'twice + 1' },
    ];
    expect(evaluateQueries(queries, (m) => (m.metricName === 'A' && m.dimensions.X === 'x' && m.stat === 'Sum' ? 5 : undefined))).toBe(11);
  });
});
