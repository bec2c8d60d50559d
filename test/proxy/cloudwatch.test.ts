import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { Dimension, ProxyMetric, ScoringFallbackReason } from '../../contracts/metrics';
import { CloudWatchPublisher, MAX_DATUMS_PER_CALL, MAX_VALUES_PER_DATUM, batches } from '../../proxy/src/metrics/cloudwatch';
import { ProxyMetrics, fallbackDimension } from '../../proxy/src/metrics/registry';
import { chat, post, quietLogger, startProxyOn, startStack, type Stack } from './harness';

const cwMock = mockClient(CloudWatchClient);
const client = () => new CloudWatchClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });
const tiers = [
  { name: 'small', pricePer1kOutputTokensUsd: 0.5 },
  { name: 'large', pricePer1kOutputTokensUsd: 2 },
];

function sent(): MetricDatum[] {
  return cwMock.commandCalls(PutMetricDataCommand).flatMap((c) => c.args[0].input.MetricData ?? []);
}
const named = (data: MetricDatum[], name: string, tier?: string) =>
  data.filter((d) => d.MetricName === name && (tier === undefined || d.Dimensions?.some((x) => x.Name === Dimension.Tier && x.Value === tier)));

beforeEach(() => cwMock.reset());

describe('CloudWatch publisher', () => {
  function publisher(m: ProxyMetrics, log = quietLogger) {
    return new CloudWatchPublisher(client(), m, log, { namespace: 'LlmTierRouter/test', flushIntervalMs: 10_000, pendingSampleMs: 1000, now: () => 1_700_000_000_000 });
  }

  test('aggregates many requests into one call with contract names, dimensions and units', async () => {
    cwMock.on(PutMetricDataCommand).resolves({});
    const m = new ProxyMetrics(tiers);
    const p = publisher(m);
    for (let i = 0; i < 500; i++) {
      m.tiers[0].routed.inc();
      m.tiers[0].usage(10, 20);
      m.tiers[0].ttft.record(5 + (i % 3));
      m.routeScore.record(0.3);
    }
    m.fallbacks[ScoringFallbackReason.ScorerFailed].inc();
    await p.flush();
    const calls = cwMock.commandCalls(PutMetricDataCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input.Namespace).toBe('LlmTierRouter/test');
    const data = sent();
    expect(named(data, ProxyMetric.RoutedRequests, 'small')[0]).toMatchObject({ Value: 500, Unit: 'Count' });
    expect(named(data, ProxyMetric.OutputTokens, 'small')[0].StatisticValues).toEqual({ SampleCount: 500, Sum: 10_000, Minimum: 20, Maximum: 20 });
    expect(named(data, ProxyMetric.EstimatedCostUsd, 'small')[0].StatisticValues?.Sum).toBeCloseTo((10_000 / 1000) * 0.5, 9);
    const ttft = named(data, ProxyMetric.TimeToFirstToken, 'small')[0];
    expect(ttft.Unit).toBe('Milliseconds');
    expect(ttft.Values!.length).toBe(3);
    expect(ttft.Counts!.reduce((a, b) => a + b, 0)).toBe(500);
    expect(named(data, ProxyMetric.RouteScore)[0]).toMatchObject({ Values: [0.3], Counts: [500], Dimensions: [] });
    expect(named(data, ProxyMetric.ScoringFallbacks).find((d) => d.Dimensions![0].Value === 'ScorerFailed')).toMatchObject({ Value: 1, Dimensions: [{ Name: 'Reason', Value: 'ScorerFailed' }] });
    for (const d of data) expect(Object.values(ProxyMetric)).toContain(d.MetricName);
    // The window is drained: a second flush sends zero counters and no distributions.
    cwMock.resetHistory();
    await p.flush();
    const again = sent();
    expect(named(again, ProxyMetric.RoutedRequests, 'small')[0].Value).toBe(0);
    expect(named(again, ProxyMetric.TimeToFirstToken)).toHaveLength(0);
  });

  test('PendingRequests is sampled per tier and sent at 1-second storage resolution with its own timestamps', async () => {
    cwMock.on(PutMetricDataCommand).resolves({});
    const m = new ProxyMetrics(tiers);
    let now = 1_700_000_000_000;
    const p = new CloudWatchPublisher(client(), m, quietLogger, { namespace: 'N', flushIntervalMs: 10_000, pendingSampleMs: 1000, now: () => now });
    for (let i = 0; i < 10; i++) {
      m.tiers[1].pending = i;
      p.sample();
      now += 1000;
    }
    await p.flush();
    const pending = named(sent(), ProxyMetric.PendingRequests, 'large');
    expect(pending).toHaveLength(10);
    expect(pending.map((d) => d.Value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const d of pending) expect(d.StorageResolution).toBe(1);
    expect(new Set(pending.map((d) => (d.Timestamp as Date).getTime())).size).toBe(10);
    expect(named(sent(), ProxyMetric.RoutedRequests)[0].StorageResolution).toBeUndefined();
  });

  test('respects the per-call limits: at most 1000 metrics per call and 150 values per datum', async () => {
    cwMock.on(PutMetricDataCommand).resolves({});
    const m = new ProxyMetrics(tiers);
    const p = publisher(m);
    for (let i = 0; i < 1000; i++) m.tiers[0].e2e.record(1000 + i);
    await p.flush();
    const e2e = named(sent(), ProxyMetric.EndToEndLatency);
    expect(e2e.length).toBe(Math.ceil(1000 / MAX_VALUES_PER_DATUM));
    for (const d of e2e) expect(d.Values!.length).toBeLessThanOrEqual(MAX_VALUES_PER_DATUM);
    const many: MetricDatum[] = Array.from({ length: 2500 }, () => ({ MetricName: 'x', Value: 1 }));
    const split = batches(many);
    expect(split.map((b) => b.length)).toEqual([MAX_DATUMS_PER_CALL, MAX_DATUMS_PER_CALL, 500]);
  });

  test('a failing PutMetricData is logged once, drops the window and never throws', async () => {
    cwMock.on(PutMetricDataCommand).rejects(Object.assign(new Error('Throttling: Rate exceeded'), { name: 'ThrottlingException' }));
    const warnings: unknown[] = [];
    const log = { ...quietLogger, warn: (...a: unknown[]) => warnings.push(a) } as unknown as typeof quietLogger;
    const m = new ProxyMetrics(tiers);
    const p = publisher(m, log);
    m.tiers[0].routed.inc();
    await expect(p.flush()).resolves.toBeUndefined();
    await expect(p.flush()).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(p.off).toBe(false);
  });

  test('missing credentials switch the publisher off with one warning', async () => {
    cwMock.on(PutMetricDataCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const warnings: unknown[] = [];
    const log = { ...quietLogger, warn: (...a: unknown[]) => warnings.push(a) } as unknown as typeof quietLogger;
    const m = new ProxyMetrics(tiers);
    const p = publisher(m, log);
    m.tiers[0].routed.inc();
    await p.flush();
    expect(p.off).toBe(true);
    m.tiers[0].routed.inc();
    await p.flush();
    expect(cwMock.commandCalls(PutMetricDataCommand)).toHaveLength(1);
    expect(warnings).toHaveLength(1);
  });

  test('fallback reasons map onto the contract values only', () => {
    expect(fallbackDimension('embedding-timeout')).toBe('EmbeddingFailed');
    expect(fallbackDimension('scorer-garbage')).toBe('ScorerFailed');
    expect(fallbackDimension('scoring-unavailable')).toBe('BothFailed');
    expect(fallbackDimension('failover-from-small')).toBeUndefined();
  });
});

describe('CloudWatch through the running proxy', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('requests never trigger a call; the flush on close sends everything in batches', async () => {
    cwMock.on(PutMetricDataCommand).resolves({});
    const { proxy } = await startProxyOn(stack, { metrics: { enabled: true, environment: 'staging' } }, { cloudwatch: client() });
    for (let i = 0; i < 20; i++) {
      const r = await post(proxy.url, '/v1/chat/completions', chat('What are your opening hours?', { stream: i % 2 === 0 }));
      expect(r.status).toBe(200);
    }
    expect(cwMock.commandCalls(PutMetricDataCommand)).toHaveLength(0);
    await proxy.close();
    const calls = cwMock.commandCalls(PutMetricDataCommand);
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls[0].args[0].input.Namespace).toBe('LlmTierRouter/staging');
    const data = sent();
    expect(named(data, ProxyMetric.RoutedRequests, 'small')[0].Value).toBe(20);
    expect(named(data, ProxyMetric.OutputTokens, 'small')[0].StatisticValues?.SampleCount).toBe(20);
    expect(named(data, ProxyMetric.RouterLatency)[0].Counts!.reduce((a, b) => a + b, 0)).toBe(20);
    expect(named(data, ProxyMetric.PendingRequests).every((d) => d.StorageResolution === 1)).toBe(true);
  });

  test('a CloudWatch outage never fails a request', async () => {
    cwMock.on(PutMetricDataCommand).rejects(new Error('service unavailable'));
    const { proxy } = await startProxyOn(stack, { metrics: { enabled: true, flushIntervalMs: 1000 } }, { cloudwatch: client() });
    try {
      for (let i = 0; i < 3; i++) {
        expect((await post(proxy.url, '/v1/chat/completions', chat('hello'))).status).toBe(200);
        await new Promise((r) => setTimeout(r, 400));
      }
    } finally {
      await proxy.close();
    }
  });
});
