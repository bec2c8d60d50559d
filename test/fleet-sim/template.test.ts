import { readSimModel } from '../../tools/fleet-sim/model';
import { TemplateError } from '../../tools/fleet-sim/cfn';
import { simulate } from '../../tools/fleet-sim/engine';
import { prepareRun } from '../../tools/fleet-sim/run';
import { ProxyMetric } from '../../contracts/metrics';
import { synth, SYNTH_TIMEOUT_MS } from './helpers';

type Json = Record<string, any>;
let dev: ReturnType<typeof synth>;

beforeAll(() => {
  dev = synth({ env: 'dev' });
}, SYNTH_TIMEOUT_MS);

const clone = () => structuredClone(dev.template) as Json;
const find = (t: Json, pred: (id: string, r: Json) => boolean) => Object.entries(t.Resources as Record<string, Json>).find(([id, r]) => pred(id, r)) as [string, Json];

describe('the synthesized template, as the simulator reads it', () => {
  it('orders the fleets router first, then the proxy tiers, with the groups\' bounds and each fleet\'s own grace and warm-up', () => {
    const { fleets, proxy } = dev.model;
    expect(fleets.map((f) => [f.name, f.kind, f.minSize, f.maxSize])).toEqual([['router', 'router', 1, 1], ['small', 'tier', 0, 1], ['large', 'tier', 0, 1]]);
    expect(fleets.map((f) => f.groupName)).toEqual(['llm-tier-router-dev-router', 'llm-tier-router-dev-small', 'llm-tier-router-dev-large']);
    expect(fleets.map((f) => [f.healthCheckGraceSeconds, f.defaultInstanceWarmupSeconds])).toEqual([[960, 960], [840, 840], [1500, 1500]]);
    for (const f of fleets) {
      expect([f.healthCheckIntervalSeconds, f.healthyThresholdCount, f.deregistrationDelaySeconds, f.rootVolumeThroughputMiBps]).toEqual([30, 2, 300, 250]);
    }
    expect(proxy.tiers).toEqual([
      { name: 'small', whenEmpty: 'spill', maxHoldMs: 300_000, holdQueueSize: 256 },
      { name: 'large', whenEmpty: 'hold', maxHoldMs: 300_000, holdQueueSize: 64 },
    ]);
    expect(proxy.boundaries).toEqual([0.65]);
    // The rendered first-token deadline: the large tier's 1,500 s grace + the 30 s scale-out window + 30 s lag.
    expect([proxy.firstTokenTimeoutMs, proxy.streamIdleTimeoutMs, proxy.nonStreamTimeoutMs]).toEqual([1_560_000, 30_000, 300_000]);
  });

  it('reads each server\'s sequence limit and model from the launch template\'s user data', () => {
    const [router, small, large] = dev.model.fleets;
    expect(router.servers.map((s) => [s.role, s.port, s.maxNumSeqs])).toEqual([['scorer', 8000, 128], ['embedding', 8001, 256]]);
    expect(small.servers[0]).toMatchObject({ hubModelId: 'hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4', maxNumSeqs: 128 });
    expect(large.servers[0]).toMatchObject({ hubModelId: 'hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4', maxNumSeqs: 16 });
    expect([small.instanceType, large.instanceType, large.usdPerHour]).toEqual(['g6e.xlarge', 'g6e.4xlarge', 3.00424]);
  });

  it('matches every alarm to the step policy it invokes and reads target tracking\'s metric math', () => {
    const large = dev.model.fleets[2];
    const out = large.stepPolicies.find((p) => p.steps.some((s) => s.adjustment === 2));
    expect(out?.alarms[0]).toMatchObject({ period: 10, evaluationPeriods: 3, datapointsToAlarm: 3, threshold: 20, comparison: 'GreaterThanOrEqualToThreshold', treatMissingData: 'notBreaching' });
    expect(out?.warmupSeconds).toBe(1500);
    const toZero = large.stepPolicies.find((p) => p.adjustmentType === 'ExactCapacity');
    expect(toZero?.steps).toEqual([{ lower: undefined, upper: 0, adjustment: 0 }]);
    expect(toZero?.alarms[0]).toMatchObject({ period: 60, evaluationPeriods: 30, datapointsToAlarm: 30, threshold: 1, comparison: 'LessThanThreshold' });
    const fromZero = large.stepPolicies.find((p) => p.alarms[0].query.kind === 'math' && p.adjustmentType === 'ChangeInCapacity');
    const q = fromZero?.alarms[0].query;
    expect(q?.kind === 'math' && q.text).toBe('IF(FILL(desired, 0) < 1, FILL(nocapacity, 0), 0)');
    expect(q?.kind === 'math' && Object.values(q.inputs).map((x) => x.kind === 'stat' && [x.metric.metricName, x.stat, x.period])).toEqual(
      expect.arrayContaining([[ProxyMetric.NoCapacityRequests, 'Sum', 60], ['GroupDesiredCapacity', 'Maximum', 60]]),
    );
    expect(large.trackingPolicies[0]).toMatchObject({ targetValue: 9.6, disableScaleIn: false, warmupSeconds: 1500 });
    const tracked = large.trackingPolicies[0].query;
    expect(tracked.kind === 'math' && [tracked.text, tracked.period]).toEqual(['IF(load, IF(waiting >= 1 AND load < 9.6, 9.6, load), 0.01)', 60]);
  });

  it('follows -c overrides exactly as cdk synth does', () => {
    const m = synth({ env: 'prod', 'tiers.large.maxCapacity': '6', 'businessHours.enabled': 'false' }).model;
    const large = m.fleets.find((f) => f.name === 'large');
    expect([large?.minSize, large?.maxSize, large?.scheduledActions.length]).toEqual([1, 6, 0]);
    expect(m.prewarms).toEqual([
      expect.objectContaining({ expression: 'cron(0/5 * ? * * *)', timeZone: 'America/New_York', fleets: ['router', 'small', 'large'] }),
    ]);
  }, SYNTH_TIMEOUT_MS);

  it('reads every pre-warm schedule: business days outside business hours, and the other days', () => {
    const m = synth({ env: 'prod' }).model;
    expect(m.prewarms.map((p) => [p.expression, p.timeZone])).toEqual([
      ['cron(0/5 0-7,19-23 ? * MON-FRI *)', 'America/New_York'],
      ['cron(0/5 * ? * SUN,SAT *)', 'America/New_York'],
    ]);
    expect(dev.model.prewarms).toEqual([]);
  }, SYNTH_TIMEOUT_MS);

  it('reads the empty-tier settings and deadlines the stack renders from -c overrides', () => {
    const m = synth({ env: 'dev', 'tiers.small.whenEmpty': 'hold', 'tiers.small.maxHoldSeconds': '45', 'tiers.large.holdQueueSize': '32', 'tiers.large.healthCheckGraceSeconds': '2400' }).model;
    expect(m.proxy.tiers).toEqual([
      { name: 'small', whenEmpty: 'hold', maxHoldMs: 45_000, holdQueueSize: 256 },
      { name: 'large', whenEmpty: 'hold', maxHoldMs: 300_000, holdQueueSize: 32 },
    ]);
    // 2,400 s grace + 30 s + 30 s, in whole minutes.
    expect(m.proxy.firstTokenTimeoutMs).toBe(2_460_000);
  }, SYNTH_TIMEOUT_MS);

  it('applies the proxy\'s own defaults to a document without empty-tier settings, ignores keys it does not know, and names a bad value\'s path', () => {
    const t = clone();
    const [, task] = find(t, (_id, r) => r.Type === 'AWS::ECS::TaskDefinition' && JSON.stringify(r).includes('LLM_ROUTER_CONFIG'));
    const env = task.Properties.ContainerDefinitions[0].Environment.find((e: Json) => e.Name === 'LLM_ROUTER_CONFIG');
    const pieces: unknown[] = env.Value['Fn::Join'][1];
    env.Value['Fn::Join'][1] = pieces.map((x) => (typeof x === 'string'
      ? x.replace(/,"whenEmpty":"(hold|spill)","maxHoldMs":\d+,"holdQueueSize":\d+/g, '').replace(/"firstTokenTimeoutMs":\d+,/, '"firstTokenTimeoutMs":90000,').replace('{"port":', '{"laterSection":{"share":0.1},"port":')
      : x));
    const m = readSimModel(t);
    expect(m.proxy.tiers).toEqual([
      { name: 'small', whenEmpty: 'spill', maxHoldMs: 300_000, holdQueueSize: 100 },
      { name: 'large', whenEmpty: 'hold', maxHoldMs: 300_000, holdQueueSize: 100 },
    ]);
    expect(m.proxy.firstTokenTimeoutMs).toBe(90_000);
    expect(m.proxy.notes.join('\n')).toMatch(/keys this checkout's proxy does not know, ignored: laterSection$/);
    env.Value['Fn::Join'][1] = pieces.map((x) => (typeof x === 'string' ? x.replace('"whenEmpty":"hold"', '"whenEmpty":"queue"') : x));
    expect(() => readSimModel(t)).toThrow(/tiers\[1\]\.whenEmpty: got "queue", expected "hold" or "spill"/);
  });
});

describe('a template shape the simulator does not understand stops it with the path', () => {
  const expectError = (t: Json, pattern: RegExp) => {
    let err: unknown;
    try {
      readSimModel(t);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as Error).message).toMatch(pattern);
  };

  it('an intrinsic function it does not resolve', () => {
    const t = clone();
    const [id, policy] = find(t, (_id, r) => r.Type === 'AWS::AutoScaling::ScalingPolicy');
    policy.Properties.AutoScalingGroupName = { 'Fn::Select': [0, ['a']] };
    expectError(t, new RegExp(`Resources\\.${id}\\.Properties\\.AutoScalingGroupName\\.Fn::Select: got the intrinsic function Fn::Select`));
  });

  it('a step policy no alarm invokes, a percentile statistic, an unknown math function', () => {
    const a = clone();
    const [alarmId] = find(a, (_id, r) => r.Type === 'AWS::CloudWatch::Alarm' && JSON.stringify(r.Properties.AlarmActions ?? []).includes('QueueScaleOut'));
    delete a.Resources[alarmId];
    expectError(a, /got a step policy no alarm invokes/);

    const b = clone();
    const [, alarm] = find(b, (_id, r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.Statistic === 'Average' && JSON.stringify(r.Properties.AlarmActions ?? []).includes('QueueScaleOut'));
    alarm.Properties.Statistic = 'p90';
    expectError(b, /Statistic: got "p90", expected one of Average/);

    const c = clone();
    const [, math] = find(c, (_id, r) => r.Type === 'AWS::CloudWatch::Alarm' && Array.isArray(r.Properties.Metrics));
    math.Properties.Metrics[0].Expression = 'ANOMALY_DETECTION_BAND(pending)';
    expectError(c, /Expression: got "ANOMALY_DETECTION_BAND\(pending\)" \(function ANOMALY_DETECTION_BAND is not modelled/);
  });

  it('a metric no simulated component publishes, when the run starts', () => {
    const t = clone();
    const [, alarm] = find(t, (_id, r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === 'vllm_num_requests_waiting');
    alarm.Properties.MetricName = 'CPUUtilization';
    const model = readSimModel(t);
    const prepared = prepareRun(model, dev.workload, { hours: 1 });
    expect(() => simulate(model, prepared.options)).toThrow(/metric LlmTierRouter\/dev\/CPUUtilization .*does not model/);
  });
});
