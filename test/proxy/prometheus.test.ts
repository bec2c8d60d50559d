import { ProxyMetric } from '../../contracts/metrics';
import { chat, post, send, startStack, type Stack } from './harness';

/** What parse-prometheus-text-format returns (it ships no types): prom2json's shape. */
interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheus = require('parse-prometheus-text-format') as (text: string) => ParsedFamily[];

jest.setTimeout(30_000);

let stack: Stack;
let text: string;
beforeAll(async () => {
  stack = await startStack();
  // Traffic on both tiers, streamed and not, so that every per-tier series has samples.
  await post(stack.proxy.url, '/v1/chat/completions', chat('What are your opening hours?'));
  await post(stack.proxy.url, '/v1/chat/completions', chat('hi', { model: 'llama-3.1-70b', stream: true }));
  await post(stack.proxy.url, '/v1/chat/completions', chat('hi', { model: 'llama-3.1-8b', stream: true }));
  const r = await send(stack.proxy.url, { method: 'GET', path: '/metrics' });
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  text = r.body;
});
afterAll(async () => {
  await stack?.close();
});

/** The family a sample line belongs to (histogram suffixes stripped). */
function familyOf(sampleName: string, declared: ReadonlySet<string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sampleName.endsWith(suffix) && declared.has(sampleName.slice(0, -suffix.length))) return sampleName.slice(0, -suffix.length);
  }
  return sampleName;
}

test('a Prometheus text-format parser reads one family per name, each with its HELP and TYPE', () => {
  const families = parsePrometheus(text);
  const names = families.map((f) => f.name);
  expect(new Set(names).size).toBe(names.length);
  for (const f of families) {
    expect(f.help).toMatch(/\S/);
    expect(['gauge', 'counter', 'histogram']).toContain(f.type.toLowerCase());
  }
  const byName = Object.fromEntries(families.map((f) => [f.name, f]));
  expect(byName[ProxyMetric.PendingRequests].type.toLowerCase()).toBe('gauge');
  expect(byName[ProxyMetric.RoutedRequests].type.toLowerCase()).toBe('counter');
  expect(byName[ProxyMetric.TimeToFirstToken].type.toLowerCase()).toBe('histogram');
  // Every tier's series sit in their family, not in a second copy of it. (This parser folds a
  // histogram's label sets together, so per-tier histograms are checked line by line below.)
  expect(byName[ProxyMetric.OutputTokens].metrics.map((m) => m.labels?.Tier).sort()).toEqual(['large', 'small']);
  expect(byName[ProxyMetric.EstimatedCostUsd].metrics.map((m) => m.labels?.Tier).sort()).toEqual(['large', 'small']);
  expect(Number(byName[ProxyMetric.RoutedRequests].metrics.find((m) => m.labels?.Tier === 'large')?.value)).toBeGreaterThan(0);
});

test('each family is one contiguous run of lines: HELP, then TYPE, then its samples', () => {
  const lines = text.trimEnd().split('\n');
  const declared = new Set(lines.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]));
  const seen: string[] = [];
  let current: string | undefined;
  let expect_: 'help' | 'type' | 'sample' = 'help';
  for (const line of lines) {
    if (line.startsWith('# HELP ')) {
      const name = line.split(' ')[2];
      expect(seen).not.toContain(name);
      expect(expect_).not.toBe('type');
      seen.push(name);
      current = name;
      expect_ = 'type';
    } else if (line.startsWith('# TYPE ')) {
      expect(expect_).toBe('type');
      expect(line.split(' ')[2]).toBe(current);
      expect_ = 'sample';
    } else {
      expect(expect_).toBe('sample');
      const sampleName = /^([A-Za-z_:][A-Za-z0-9_:]*)/.exec(line)![1];
      expect(familyOf(sampleName, declared)).toBe(current);
    }
  }
  expect(seen.sort()).toEqual([...declared].sort());
  // The per-tier histograms are single families holding both tiers.
  const e2e = lines.filter((l) => l.startsWith(`${ProxyMetric.EndToEndLatency}_count`));
  expect(e2e.map((l) => /Tier="(\w+)"/.exec(l)![1]).sort()).toEqual(['large', 'small']);
});
