import { evaluateExpression, parseExpression, referencedIds } from '../../tools/fleet-sim/metric-math';

const run = (text: string, values: Record<string, number | undefined>) => evaluateExpression(parseExpression(text), (id) => values[id]);

describe('metric math for scaling alarms', () => {
  it('evaluates the scale-from-zero expression: pending requests only while the group wants no instance', () => {
    const expr = 'IF(FILL(desired, 0) < 1, FILL(pending, 0), 0)';
    expect(run(expr, { desired: 0, pending: 3 })).toBe(3);
    expect(run(expr, { desired: undefined, pending: 2 })).toBe(2);
    expect(run(expr, { desired: 1, pending: 7 })).toBe(0);
    expect(run(expr, { desired: 0, pending: undefined })).toBe(0);
    expect(referencedIds(parseExpression(expr)).sort()).toEqual(['desired', 'pending']);
  });

  it('follows operator precedence and treats arithmetic on a missing datapoint as missing', () => {
    expect(run('a + b * 2', { a: 1, b: 3 })).toBe(7);
    expect(run('(a + b) * 2', { a: 1, b: 3 })).toBe(8);
    expect(run('a / b', { a: 1, b: 0 })).toBeUndefined();
    expect(run('running + waiting', { running: 4, waiting: undefined })).toBeUndefined();
    expect(run('-a + 10', { a: 4 })).toBe(6);
  });

  it('combines conditions and reduces a list per period', () => {
    expect(run('a > 1 AND b < 1', { a: 2, b: 0 })).toBe(1);
    expect(run('a > 1 || b > 1', { a: 0, b: 0 })).toBe(0);
    expect(run('NOT(a)', { a: 0 })).toBe(1);
    expect(run('MAX([a, b, c])', { a: 1, b: 5, c: undefined })).toBe(5);
    expect(run('AVG([a, b])', { a: 2, b: 4 })).toBe(3);
    expect(run('IF(a > 1, b)', { a: 0, b: 5 })).toBeUndefined();
  });

  it('refuses what it does not model instead of guessing', () => {
    expect(() => parseExpression('RATE(m1)')).toThrow(/function RATE is not modelled/);
    expect(() => parseExpression('SEARCH(\'x\', \'Sum\', 60)')).toThrow(/unexpected character|not modelled/);
    expect(() => run('FILL(m, REPEAT)', { m: undefined })).toThrow(/constant fill value/);
    expect(() => run('MAX(m)', { m: 1 })).toThrow(/single time series/);
    expect(() => parseExpression('a +')).toThrow(/unexpected end/);
  });
});
