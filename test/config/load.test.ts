import { isCdkContextKey, loadEnvConfig } from '../../lib/config/load';
import { ConfigError } from '../../contracts/validation';
import { availabilityZones, fleetSpecs } from '../../lib/config/fleets';
import { cdkContext, load, problems } from './helpers';

describe('environment selection and layering', () => {
  test('dev is the default environment', () => {
    const cfg = load();
    expect(cfg.envName).toBe('dev');
    expect(cfg.proxy.allowHttp).toBe(true);
  });

  test('defaults reproduce the design: router g6e.xlarge Qwen2.5-1.5B, small g6e.xlarge 8B AWQ, large g6e.4xlarge 70B AWQ with fp8 KV at 8192', () => {
    const cfg = load({ env: 'prod' });
    expect(cfg.router).toMatchObject({ instanceType: 'g6e.xlarge', scorer: { model: 'qwen2.5-1.5b-instruct' } });
    expect(cfg.tiers.map((t) => t.name)).toEqual(['small', 'large']);
    expect(cfg.tiers[0]).toMatchObject({ instanceType: 'g6e.xlarge', model: 'llama-3.1-8b-instruct', weightFormat: 'awq-int4' });
    expect(cfg.tiers[1]).toMatchObject({ instanceType: 'g6e.4xlarge', model: 'llama-3.1-70b-instruct', weightFormat: 'awq-int4', kvCacheDtype: 'fp8', maxModelLen: 8192 });
    expect(cfg.routing).toMatchObject({ threshold: 0.65, embeddingWeight: 0.6, ratingWeight: 0.4, truncateChars: 2048, keywordPolicy: 'force', fallbackTier: 'large' });
    expect([cfg.router.healthCheckGraceSeconds, ...cfg.tiers.map((t) => t.healthCheckGraceSeconds)]).toEqual([960, 840, 1500]);
    expect(cfg.alarms.largeTierShareLimit).toBe(0.25);
  });

  test('cdk.json environments override defaults; tiers merge by name', () => {
    const prod = load({ env: 'prod' });
    expect(prod.tiers[1]).toMatchObject({ name: 'large', minCapacity: 1, maxCapacity: 4, instanceType: 'g6e.4xlarge' });
    expect(prod.network.azCount).toBe(3);
    const dev = load({ env: 'dev' });
    expect(dev.tiers[1]).toMatchObject({ minCapacity: 0, maxCapacity: 1 });
  });

  test('dotted -c overrides arrive as strings and are coerced by the schema', () => {
    const cfg = load({ env: 'prod', 'tiers.large.maxCapacity': '6', 'routing.threshold': '0.7', 'proxy.wafEnabled': 'false', 'alarms.emails': 'ops@example.com,oncall@example.com', region: 'us-west-2' });
    expect(cfg.tiers[1].maxCapacity).toBe(6);
    expect(cfg.routing.threshold).toBe(0.7);
    expect(cfg.proxy.wafEnabled).toBe(false);
    expect(cfg.alarms.emails).toEqual(['ops@example.com', 'oncall@example.com']);
    expect(cfg.region).toBe('us-west-2');
  });

  test('a tier can be addressed by index as well as by name', () => {
    expect(load({ 'tiers.0.maxCapacity': '3' }).tiers[0].maxCapacity).toBe(3);
  });

  test('a new tier added in an environment is appended and validated like the others', () => {
    const ctx = cdkContext() as { environments: Record<string, Record<string, unknown>> };
    const environments = {
      ...ctx.environments,
      dev: { ...ctx.environments.dev, tiers: { xl: { instanceType: 'g6e.12xlarge' } } },
    };
    expect(() => loadEnvConfig({ ...ctx, environments })).toThrow(/tiers\.xl\.model: got nothing, expected a string/);
  });

  test('the config is frozen', () => {
    const cfg = load();
    expect(Object.isFrozen(cfg.tiers[0])).toBe(true);
  });

  test('CDK context keys of its own are not taken for config', () => {
    expect(() => load({ '@aws-cdk/core:newStyleStackSynthesis': true, 'aws:cdk:enable-path-metadata': true })).not.toThrow();
  });

  test('every context key the CDK CLI and App add, and what cdk.context.json caches, passes', () => {
    // What `cdk synth -c foo=bar` (aws-cdk 2.1148) hands the app besides cdk.json and the -c values,
    // plus the keys of `cdk acknowledge`, `cdk migrate`, legacy CLI settings and cached lookups.
    const cdkKeys = {
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:enable-asset-metadata': true,
      'aws:cdk:version-reporting': true,
      'aws:cdk:bundling-stacks': ['**'],
      '@aws-cdk/core:failSynthOnValidationErrors': false,
      '@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver': true,
      'aws:cdk:disable-asset-staging': true,
      'aws:cdk:disable-version-reporting': true,
      'aws-cdk:enableDiffNoFail': 'true',
      'acknowledged-issue-numbers': [32775],
      'cdk-migrate': true,
      'assets-ecr-repository-name': 'assets',
      'availability-zones:account=123456789012:region=us-east-1': ['us-east-1a', 'us-east-1b'],
      'ssm:account=123456789012:parameterName=/x:region=us-east-1': 'ami-0123',
      'ami:account=123456789012:filters.image-type.0=machine:region=us-east-1': 'ami-0123',
      'hosted-zone:account=123456789012:domainName=example.com:region=us-east-1': { Id: 'Z1' },
      'vpc-provider:account=123456789012:filter.vpc-id=vpc-1:region=us-east-1:returnAsymmetricSubnets=true': {},
    };
    for (const key of Object.keys(cdkKeys)) expect([key, isCdkContextKey(key)]).toEqual([key, true]);
    expect(load({ env: 'prod', ...cdkKeys }).envName).toBe('prod');
  });

  test('fleet specs list the router then every tier, with resolved hub ids', () => {
    const specs = fleetSpecs(load({ env: 'prod' }));
    expect(specs.map((f) => f.name)).toEqual(['router', 'small', 'large']);
    expect(specs[0].servers.map((s) => [s.role, s.port, s.runner])).toEqual([['scorer', 8000, 'generate'], ['embedding', 8001, 'pooling']]);
    expect(specs[2].servers[0].hubModelId).toBe('hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4');
    expect(fleetSpecs(load({ 'tiers.large.weightFormat': 'fp8', 'tiers.large.instanceType': 'g6e.12xlarge', 'tiers.large.tensorParallelSize': '4' }))[2].servers[0].hubModelId)
      .toBe('neuralmagic/Meta-Llama-3.1-70B-Instruct-FP8');
  });

  test('fleet specs carry each fleet\'s grace and root volume, and the pinned commits of remote-code models', () => {
    const specs = fleetSpecs(load({ env: 'prod', 'tiers.small.healthCheckGraceSeconds': '700', 'tiers.small.rootVolumeThroughputMiBps': '500' }));
    expect(specs.map((f) => [f.name, f.healthCheckGraceSeconds, f.rootVolumeThroughputMiBps, f.rootVolumeIops])).toEqual([
      ['router', 960, 250, 3000], ['small', 700, 500, 3000], ['large', 1500, 250, 3000],
    ]);
    const embedding = specs[0].servers[1];
    expect(embedding).toMatchObject({
      trustRemoteCode: true,
      revision: 'e9b6763023c676ca8431644204f50c2b100d9aab',
      codeRevision: '7710840340a098cfb869c4f65e87cf2b1b70caca',
    });
    expect(specs[0].servers[0]).toMatchObject({ trustRemoteCode: false });
    expect(specs[0].servers[0].revision).toBeUndefined();
  });

  test('availability zones come from config so synth needs no lookup', () => {
    expect(availabilityZones(load({ env: 'prod' }))).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    expect(availabilityZones(load({ 'network.availabilityZones': 'us-east-1d,us-east-1f' }))).toEqual(['us-east-1d', 'us-east-1f']);
  });
});

describe('validation reports every problem as "path: got X, expected Y"', () => {
  test('an environment name that does not exist', () => {
    expect(problems({ env: 'prd' })).toEqual(['env: got "prd", expected one of dev, staging, prod (did you mean "prod"?)']);
  });

  test('unknown keys, with a did-you-mean', () => {
    expect(problems({ 'routing.treshold': '0.7' })).toEqual([
      expect.stringMatching(/^routing\.treshold: got an unknown key, expected one of threshold, .* \(did you mean "threshold"\?\)$/),
    ]);
    expect(problems({ 'tiers.larg.maxCapacity': '3' })).toEqual(['tiers.larg: got an unknown tier, expected one of small, large (did you mean "large"?)']);
  });

  test('unknown instance types', () => {
    expect(problems({ 'tiers.large.instanceType': 'g6e.4xlarg' })).toEqual([
      expect.stringMatching(/^tiers\.large\.instanceType: got "g6e\.4xlarg", expected a catalogued GPU instance type \(did you mean "g6e\.4xlarge"\?\)/),
    ]);
  });

  test('min capacity above max capacity', () => {
    expect(problems({ 'tiers.large.minCapacity': '3', 'tiers.large.businessHoursMinCapacity': '1' })).toContain(
      'tiers.large.maxCapacity: got 1, expected >= minCapacity (3)',
    );
  });

  test('threshold and weights outside [0, 1]', () => {
    const p = problems({ 'routing.threshold': '1.5', 'routing.embeddingWeight': '-0.1', 'routing.ratingWeight': '1.1' });
    expect(p).toContain('routing.threshold: got 1.5, expected <= 1');
    expect(p).toContain('routing.embeddingWeight: got -0.1, expected >= 0');
    expect(p).toContain('routing.ratingWeight: got 1.1, expected <= 1');
  });

  test('weights that do not sum to 1', () => {
    expect(problems({ 'routing.embeddingWeight': '0.5' })).toEqual([
      'routing.ratingWeight: got 0.4 with embeddingWeight 0.5, expected the two weights to sum to 1',
    ]);
  });

  test('max batched tokens below max model length', () => {
    expect(problems({ 'tiers.small.maxNumBatchedTokens': '4096' })).toEqual([
      'tiers.small.maxNumBatchedTokens: got 4096, expected >= maxModelLen (16384)',
    ]);
  });

  test('GPU memory utilization above 0.95', () => {
    expect(problems({ 'tiers.small.gpuMemoryUtilization': '0.97' })).toEqual(['tiers.small.gpuMemoryUtilization: got 0.97, expected <= 0.95']);
  });

  test('router memory shares that add up past 0.95', () => {
    expect(problems({ 'router.embedding.gpuMemoryUtilization': '0.6' })).toEqual([
      'router.embedding.gpuMemoryUtilization: got 0.6, expected scorer + embedding shares <= 0.95 (now 1.05)',
    ]);
  });

  test('tensor-parallel size that does not divide the GPU count', () => {
    expect(problems({ 'tiers.large.instanceType': 'g6e.12xlarge', 'tiers.large.tensorParallelSize': '3' })).toEqual([
      'tiers.large.tensorParallelSize: got 3, expected a divisor of the 4 GPU(s) of g6e.12xlarge',
    ]);
  });

  test('invalid business hours: time zone, days, hours, and the pre-warm interval', () => {
    const p = problems({
      'businessHours.timeZone': 'America/New_Yrok',
      'businessHours.days': 'MON,TUE,FUN',
      'businessHours.startHour': '19',
      'businessHours.endHour': '8',
      'prewarm.intervalMinutes': '7',
    });
    expect(p).toEqual([
      'businessHours.days.2: got "FUN", expected one of SUN, MON, TUE, WED, THU, FRI, SAT (did you mean "SUN"?)',
      'prewarm.intervalMinutes: got 7, expected one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 (a divisor of 60)',
    ]);
    expect(problems({ 'businessHours.timeZone': 'UTC+2', 'businessHours.startHour': '19', 'businessHours.endHour': '8' })).toEqual([
      'businessHours.timeZone: got "UTC+2", expected an IANA time zone such as America/New_York',
      'businessHours.endHour: got 8, expected > startHour (19)',
    ]);
    expect(problems({ 'businessHours.days': 'MON,MON' })).toEqual(['businessHours.days: got ["MON","MON"], expected each day once (MON twice)']);
    expect(problems({ 'businessHours.days': '' })).toEqual(['businessHours.days: got 0 items, expected at least 1 item']);
    expect(problems({
      'prewarm.enabled': 'true', 'businessHours.enabled': 'true', 'businessHours.days': 'SUN,MON,TUE,WED,THU,FRI,SAT', 'businessHours.startHour': '0', 'businessHours.endHour': '24',
    })).toEqual(['businessHours: got business hours around the clock every day, expected at least one hour outside them for pre-warm (or prewarm.enabled false)']);
  });

  test('the schedule keys that business hours replaced are rejected', () => {
    expect(problems({ 'prewarm.scheduleExpression': 'cron(0/5 * ? * * *)' })).toEqual([
      expect.stringMatching(/^prewarm\.scheduleExpression: got an unknown key, expected one of enabled, intervalMinutes, timeoutMs/),
    ]);
    expect(problems({ 'scaling.businessHours.enabled': 'true' })).toEqual([
      expect.stringMatching(/^scaling\.businessHours: got an unknown key/),
    ]);
  });

  test('a queue depth that blocks scale-in above the burst scale-out threshold', () => {
    expect(problems({ 'scaling.queueDepthBlocksScaleIn': '25' })).toEqual([
      'scaling.queueDepthBlocksScaleIn: got 25, expected <= queueDepthScaleOut (20)',
    ]);
  });

  test('a load-tracking period target tracking does not accept, and an idle window shorter than the longest generation', () => {
    expect(problems({ 'scaling.loadTrackingPeriodSeconds': '20' })).toEqual([
      'scaling.loadTrackingPeriodSeconds: got 20, expected one of 10, 30, 60 (the periods target tracking accepts)',
    ]);
    expect(problems({ 'scaling.idleMinutesBeforeZero': '5', longestGenerationSeconds: '600' })).toEqual([
      'scaling.idleMinutesBeforeZero: got 5, expected more than longestGenerationSeconds / 60 (10): a tier must not go to zero under a request still generating',
    ]);
    expect(load({ 'scaling.loadTrackingPeriodSeconds': '10' }).scaling.loadTrackingPeriodSeconds).toBe(10);
  });

  test('a tier\'s own target load fraction: the large tier defaults to 0.6, any tier may set one in (0, 1]', () => {
    const specs = fleetSpecs(load({ 'tiers.small.targetLoadFraction': '0.5' }));
    expect(specs.map((f) => [f.name, f.targetLoadFraction])).toEqual([['router', undefined], ['small', 0.5], ['large', 0.6]]);
    expect(problems({ 'tiers.large.targetLoadFraction': '1.5' })).toEqual([expect.stringMatching(/^tiers\.large\.targetLoadFraction: got 1\.5, expected/)]);
  });

  test('scaling keys that no longer exist are rejected with the key that replaced them', () => {
    expect(problems({ 'scaling.pendingRequestsScaleFromZero': '2' })).toEqual([
      expect.stringMatching(/^scaling\.pendingRequestsScaleFromZero: got an unknown key, expected one of .*noCapacityRequestsScaleFromZero/),
    ]);
    expect(problems({ 'scaling.targetRunningFraction': '0.5' })).toEqual([
      expect.stringMatching(/^scaling\.targetRunningFraction: got an unknown key, expected one of .*targetLoadFraction/),
    ]);
  });

  test('invalid email addresses', () => {
    expect(problems({ 'alarms.emails': 'ops@example.com,not-an-email' })).toEqual(['alarms.emails.1: got "not-an-email", expected an email address']);
  });

  test('a model that does not fit its instance names the fix', () => {
    expect(problems({ 'tiers.large.weightFormat': 'fp8' })).toEqual([
      expect.stringMatching(/^tiers\.large: got llama-3\.1-70b-instruct fp8 on g6e\.4xlarge needing 70\.\d GiB .* expected at most 42\.5 GiB .* fix: instanceType g6e\.12xlarge with tensorParallelSize 4.*weightFormat awq-int4/),
    ]);
  });

  test('a fallback tier that is not a tier', () => {
    expect(problems({ 'routing.fallbackTier': 'lrage' })).toEqual([
      'routing.fallbackTier: got "lrage", expected a tier name (did you mean "large"?) (one of small, large)',
    ]);
  });

  test('wrong types name the type expected', () => {
    expect(problems({ 'tiers.large.maxCapacity': 'six' })).toEqual(['tiers.large.maxCapacity: got "six" (string), expected a number']);
  });

  test('several problems are reported at once', () => {
    expect(problems({ 'routing.threshold': '2', 'tiers.small.gpuMemoryUtilization': '0.99', 'alarms.emails': 'x' })).toHaveLength(3);
  });

  test('a grace above one hour, the longest a rolling update waits for a signal', () => {
    expect(problems({ 'tiers.large.healthCheckGraceSeconds': '3601' })).toEqual(['tiers.large.healthCheckGraceSeconds: got 3601, expected <= 3600']);
    expect(load({ 'tiers.large.healthCheckGraceSeconds': '3600' }).tiers[1].healthCheckGraceSeconds).toBe(3600);
  });

  test('the former global grace names where each fleet\'s grace lives now', () => {
    expect(problems({ 'scaling.healthCheckGraceSeconds': '900' })).toEqual([
      'scaling.healthCheckGraceSeconds: got "900", expected no such key: it moved to router.healthCheckGraceSeconds and tiers.<name>.healthCheckGraceSeconds (each fleet boots in its own time)',
    ]);
  });

  test('gp3 limits: throughput range, throughput per IOPS, IOPS range and IOPS per GiB', () => {
    expect(problems({ 'tiers.large.rootVolumeThroughputMiBps': '2001' })).toEqual(['tiers.large.rootVolumeThroughputMiBps: got 2001, expected <= 2000']);
    expect(problems({ 'router.rootVolumeThroughputMiBps': '100' })).toEqual(['router.rootVolumeThroughputMiBps: got 100, expected >= 125']);
    expect(problems({ 'tiers.small.rootVolumeIops': '80001' })).toEqual(['tiers.small.rootVolumeIops: got 80001, expected <= 80000']);
    expect(problems({ 'tiers.large.rootVolumeThroughputMiBps': '1000' })).toEqual([
      'tiers.large.rootVolumeThroughputMiBps: got 1000, expected <= rootVolumeIops x 0.25 (750 with 3000 IOPS; raise rootVolumeIops to 4000)',
    ]);
    expect(problems({ 'router.rootVolumeIops': '70000' })).toEqual([
      'router.rootVolumeIops: got 70000, expected <= 500 x rootVolumeGiB (60000 for 120 GiB)',
    ]);
    const fast = load({ 'tiers.large.rootVolumeThroughputMiBps': '1000', 'tiers.large.rootVolumeIops': '4000' }).tiers[1];
    expect([fast.rootVolumeThroughputMiBps, fast.rootVolumeIops]).toEqual([1000, 4000]);
  });

  test('a model that runs remote code loads pinned commits only', () => {
    expect(problems({ 'router.embedding.revision': 'main' })).toEqual(['router.embedding.revision: got "main", expected a 40-hex commit id (a branch or tag can move)']);
    expect(problems({ 'router.embedding.hubModelId': 'someone/nomic-embed-fork' })).toEqual([
      'router.embedding.revision: got nothing, expected the 40-hex commit of someone/nomic-embed-fork to load (nomic-embed-text-v1.5 runs code from the hub with --trust-remote-code; the catalog pins only its own builds)',
      'router.embedding.codeRevision: got nothing, expected the 40-hex commit of the repository someone/nomic-embed-fork\'s config takes its code from (nomic-embed-text-v1.5 runs it with --trust-remote-code)',
    ]);
    const sha = 'a'.repeat(40);
    expect(() => load({ 'router.embedding.hubModelId': 'someone/nomic-embed-fork', 'router.embedding.revision': sha, 'router.embedding.codeRevision': sha })).not.toThrow();
    expect(problems({ 'tiers.small.codeRevision': sha })).toEqual([`tiers.small.codeRevision: got "${sha}", expected nothing: llama-3.1-8b-instruct runs no remote code`]);
  });

  test('prod needs a certificate unless plain HTTP is allowed, and at least two proxy tasks', () => {
    const ctx = cdkContext() as { environments: Record<string, { proxy: Record<string, unknown> }> };
    const prod = { ...ctx.environments.prod, proxy: { ...ctx.environments.prod.proxy, certificateArn: undefined, minTasks: 1 } };
    let issues: readonly string[] = [];
    try {
      loadEnvConfig({ ...ctx, env: 'prod', environments: { ...ctx.environments, prod } });
    } catch (err) {
      issues = (err as ConfigError).issues;
    }
    expect(issues).toContain('proxy.certificateArn: got nothing, expected an ACM certificate ARN (or proxy.allowHttp true for a development environment)');
    expect(issues).toContain('proxy.minTasks: got 1, expected >= 2 in prod (one task per AZ)');
  });
});

describe('unknown keys and wrong shapes fail with the closest valid key, one line per mistake', () => {
  test.each([
    [{ regoin: 'eu-west-1' }, /^regoin: got an unknown context key, expected env, environments, a config key \(account, region, .*\) or a CDK key \(@aws-cdk\/\.\.\., aws:cdk:\.\.\.\) \(did you mean "region"\?\)$/],
    [{ logRetentionDay: '14' }, /^logRetentionDay: got an unknown context key, .* \(did you mean "logRetentionDays"\?\)$/],
    [{ envv: 'prod' }, /^envv: got an unknown context key, .* \(did you mean "env"\?\)$/],
    [{ foo: 'bar' }, /^foo: got an unknown context key, .*\(@aws-cdk\/\.\.\., aws:cdk:\.\.\.\)$/],
    [{ 'rooting.threshold': '0.7' }, /^rooting\.threshold: got an unknown context key, .* \(did you mean "routing"\?\)$/],
    [{ 'tiers.small': 'big' }, /^tiers\.small: got "big", expected a setting under the tier, such as tiers\.small\.maxCapacity=2$/],
    [{ 'tiers.0': '{}' }, /^tiers\.0: got "\{\}", expected a setting under the tier/],
    [{ 'routing.keywords': '' }, /^routing\.keywords: got an empty value, expected a comma-separated list of words \(routing\.keywords=\[\] for none, code and math notation still count; routing\.keywordPolicy=off turns the signal off\)$/],
    [{ 'alarms.emails.0': 'ops@example.com' }, /^alarms\.emails\.0: got a key under a list, expected the whole list, as in alarms\.emails=a,b/],
    [{ 'routing.foo.bar': '1' }, /^routing\.foo: got an unknown key, expected one of threshold, /],
  ])('%j', (overrides, line) => {
    expect(problems(overrides)).toEqual([expect.stringMatching(line)]);
  });

  test('an explicit empty keyword list is allowed: the keyword signal then rests on code and math notation', () => {
    const cfg = load({ 'routing.keywords': '[]' });
    expect(cfg.routing.keywords).toEqual([]);
    expect(cfg.routing.keywordPolicy).toBe('force');
    expect(problems({ 'routing.keywords': 'prove,,derive' })).toEqual(['routing.keywords.1: got "", expected a non-empty word or phrase']);
  });

  test('a value of the wrong type is one line, not also the checks measured on it', () => {
    expect(problems({ tiers: 'x' })).toEqual(['tiers: got "x" (string), expected a list']);
    expect(problems({ network: 'x' })).toEqual(['network: got "x" (string), expected an object']);
  });

  test('one root problem does not add derived problems about other keys', () => {
    expect(problems({ 'tiers.large.minCapacity': '3' })).toEqual(['tiers.large.maxCapacity: got 1, expected >= minCapacity (3)']);
    expect(problems({ 'tiers.large.maxModelLen': '200000' })).toEqual(['tiers.large.maxModelLen: got 200000, expected <= 131072 (the context length of llama-3.1-70b-instruct)']);
  });

  test('lines read as English: an object, true or false, at least 1 item, the allowed values listed', () => {
    const lines = [
      ...problems({ tags: 'x' }),
      ...problems({ 'proxy.wafEnabled': 'yes' }),
      ...problems({ 'proxy.allowedCidrs': '' }),
      ...problems({ 'proxy.cpu': '3' }),
    ];
    expect(lines).toEqual([
      'tags: got "x" (string), expected an object',
      'proxy.wafEnabled: got "yes" (string), expected true or false',
      'proxy.allowedCidrs: got 0 items, expected at least 1 item',
      'proxy.cpu: got 3, expected one of 256, 512, 1024, 2048, 4096',
    ]);
  });
});
