import { z } from 'zod';
import { formatIssues } from '../../contracts/validation';
import { parseProxyConfig } from '../../contracts/proxy-config';
import { ConfigError } from '../../contracts/validation';
import { minimalConfig } from '../proxy/helpers';

/** The lines a parse of `input` against `schema` reports. */
function lines(schema: z.ZodType, input: unknown): string[] {
  const r = schema.safeParse(input, { reportInput: true });
  if (r.success) throw new Error('expected the input to be rejected');
  return formatIssues(r.error, { schema, root: input });
}

describe('formatIssues', () => {
  test('a type names what was expected with the right article', () => {
    const schema = z.strictObject({ o: z.object({}), r: z.record(z.string(), z.string()), i: z.int(), b: z.boolean(), l: z.array(z.string()), s: z.string() });
    expect(lines(schema, { o: 1, r: 1, i: 'x', b: 'x', l: 'x', s: 1 })).toEqual([
      'o: got 1 (number), expected an object',
      'r: got 1 (number), expected an object',
      'i: got "x" (string), expected a number',
      'b: got "x" (string), expected true or false',
      'l: got "x" (string), expected a list',
      's: got 1 (number), expected a string',
    ]);
  });

  test('sizes of strings and lists count characters and items, singular and plural', () => {
    const schema = z.strictObject({ a: z.string().min(1), b: z.array(z.number()).min(2), c: z.array(z.number()).max(1), d: z.string().max(3) });
    expect(lines(schema, { a: '', b: [1], c: [1, 2], d: 'abcd' })).toEqual([
      'a: got "", expected at least 1 character',
      'b: got 1 item, expected at least 2 items',
      'c: got 2 items, expected at most 1 item',
      'd: got "abcd", expected at most 3 characters',
    ]);
  });

  test('a union of literals lists them', () => {
    expect(lines(z.strictObject({ cpu: z.union([z.literal(256), z.literal(512)]) }), { cpu: 3 })).toEqual(['cpu: got 3, expected one of 256, 512']);
  });

  test('a value of the wrong type is reported once, without the checks that ran on it anyway', () => {
    expect(lines(z.strictObject({ tiers: z.array(z.string()).min(2) }), { tiers: 'x' })).toEqual(['tiers: got "x" (string), expected a list']);
  });

  test('the proxy config document uses the same rules', () => {
    let issues: readonly string[] = [];
    try {
      parseProxyConfig(minimalConfig({ tiers: 'x', limits: { maxJsonDepth: 0 } }));
    } catch (e) {
      issues = (e as ConfigError).issues;
    }
    expect(issues).toEqual(['tiers: got "x", expected a list of tiers', 'limits.maxJsonDepth: got 0, expected an integer from 1 to 1000']);
  });
});
