import { configKeys, KEY_MEANINGS, renderConfigReference } from '../../lib/config/reference';

describe('configuration reference', () => {
  it('documents every key of the schema, and nothing the schema does not have', () => {
    const compact = ['router.scorer', 'router.embedding'];
    const documented = new Set(Object.keys(KEY_MEANINGS));
    const keys = configKeys().map((k) => compact.find((c) => k.path.startsWith(`${c}.`)) ?? k.path);
    expect(keys.filter((k) => !documented.has(k))).toEqual([]);
    expect([...documented].filter((k) => !keys.includes(k))).toEqual([]);
  });

  it('finds optional keys and tier keys in the schema', () => {
    const keys = configKeys();
    expect(keys).toContainEqual({ path: 'proxy.certificateArn', optional: true });
    expect(keys).toContainEqual({ path: 'tiers.*.maxCapacity', optional: false });
    expect(keys.some((k) => k.path === 'envName')).toBe(false);
  });

  it('shows defaults and only the per-environment values that differ', () => {
    const table = renderConfigReference({ prod: { router: { minCapacity: 2 } }, dev: { router: { minCapacity: 1 } } });
    expect(table).toContain('| `router.minCapacity` | `1` (prod: 2) | router fleet minimum |');
    expect(table).toMatch(/\| `maxNumSeqs` \| `128` \| `16` \| /);
  });
});
