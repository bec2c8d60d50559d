import {
  isValidAnswer,
  planWarmups,
  readyInstanceIds,
  summarize,
  warmupCall,
  type FleetTarget,
  type GroupDescription,
  type ReservationDescription,
  type WarmupResult,
} from '../../../lambda/prewarm/plan';

const router: FleetTarget = {
  fleet: 'router',
  asgName: 'prod-router-asg',
  servers: [
    { port: 8000, kind: 'chat', model: 'scorer' },
    { port: 8001, kind: 'embedding', model: 'embedder' },
  ],
};
const small: FleetTarget = { fleet: 'small', asgName: 'prod-small-asg', servers: [{ port: 8000, kind: 'chat', model: 'small' }] };

const inService = (id: string) => ({ InstanceId: id, LifecycleState: 'InService', HealthStatus: 'Healthy' });
const ip = (id: string, address: string): ReservationDescription => ({
  Instances: [{ InstanceId: id, PrivateIpAddress: address }],
});

describe('planWarmups', () => {
  const cases: Array<{
    name: string;
    fleets: FleetTarget[];
    groups: GroupDescription[];
    reservations: ReservationDescription[];
    expected: Array<[string, string, string, number]>;
    skipped?: Array<[string, string]>;
  }> = [
    {
      name: 'one request per server on each ready router instance',
      fleets: [router],
      groups: [{ AutoScalingGroupName: 'prod-router-asg', Instances: [inService('i-1')] }],
      reservations: [ip('i-1', '10.0.1.5')],
      expected: [
        ['router', 'i-1', '10.0.1.5', 8000],
        ['router', 'i-1', '10.0.1.5', 8001],
      ],
    },
    {
      name: 'pending, terminating and standby instances are left out',
      fleets: [small],
      groups: [
        {
          AutoScalingGroupName: 'prod-small-asg',
          Instances: [
            inService('i-1'),
            { InstanceId: 'i-2', LifecycleState: 'Pending', HealthStatus: 'Healthy' },
            { InstanceId: 'i-3', LifecycleState: 'Terminating', HealthStatus: 'Healthy' },
            { InstanceId: 'i-4', LifecycleState: 'Standby', HealthStatus: 'Healthy' },
          ],
        },
      ],
      reservations: [ip('i-1', '10.0.1.5'), ip('i-2', '10.0.1.6'), ip('i-3', '10.0.1.7'), ip('i-4', '10.0.1.8')],
      expected: [['small', 'i-1', '10.0.1.5', 8000]],
      skipped: [
        ['i-2', 'not-in-service'],
        ['i-3', 'not-in-service'],
        ['i-4', 'not-in-service'],
      ],
    },
    {
      name: 'unhealthy instances are left out',
      fleets: [small],
      groups: [
        {
          AutoScalingGroupName: 'prod-small-asg',
          Instances: [{ InstanceId: 'i-9', LifecycleState: 'InService', HealthStatus: 'Unhealthy' }],
        },
      ],
      reservations: [ip('i-9', '10.0.1.9')],
      expected: [],
      skipped: [['i-9', 'unhealthy']],
    },
    {
      name: 'an instance without a private IP is skipped, not sent to',
      fleets: [small],
      groups: [{ AutoScalingGroupName: 'prod-small-asg', Instances: [inService('i-1')] }],
      reservations: [{ Instances: [{ InstanceId: 'i-1' }] }],
      expected: [],
      skipped: [['i-1', 'no-private-ip']],
    },
    {
      name: 'a group missing from the answer (deleted or scaled to zero) plans nothing',
      fleets: [router, small],
      groups: [{ AutoScalingGroupName: 'prod-small-asg', Instances: [inService('i-1')] }],
      reservations: [ip('i-1', '10.0.2.1')],
      expected: [['small', 'i-1', '10.0.2.1', 8000]],
    },
    {
      name: 'instances are matched to their own fleet',
      fleets: [router, small],
      groups: [
        { AutoScalingGroupName: 'prod-small-asg', Instances: [inService('i-s')] },
        { AutoScalingGroupName: 'prod-router-asg', Instances: [inService('i-r')] },
        { AutoScalingGroupName: 'someone-elses-asg', Instances: [inService('i-x')] },
      ],
      reservations: [ip('i-s', '10.0.2.1'), ip('i-r', '10.0.3.1'), ip('i-x', '10.0.4.1')],
      expected: [
        ['router', 'i-r', '10.0.3.1', 8000],
        ['router', 'i-r', '10.0.3.1', 8001],
        ['small', 'i-s', '10.0.2.1', 8000],
      ],
    },
  ];

  it.each(cases)('$name', ({ fleets, groups, reservations, expected, skipped }) => {
    const plan = planWarmups(fleets, groups, reservations);
    expect(plan.requests.map((r) => [r.fleet, r.instanceId, r.host, r.port])).toEqual(expected);
    if (skipped) expect(plan.skipped.map((s) => [s.instanceId, s.reason])).toEqual(skipped);
  });

  it('counts ready instances per fleet, 0 for an empty fleet', () => {
    const plan = planWarmups(
      [router, small],
      [{ AutoScalingGroupName: 'prod-small-asg', Instances: [inService('i-1'), inService('i-2')] }],
      [ip('i-1', '10.0.0.1'), ip('i-2', '10.0.0.2')],
    );
    expect(plan.instancesPerFleet).toEqual({ router: 0, small: 2 });
  });
});

describe('warmupCall', () => {
  it.each([
    ['chat', '/v1/chat/completions', { max_tokens: 1, messages: [{ role: 'user', content: 'hello' }] }],
    ['completion', '/v1/completions', { max_tokens: 1, prompt: 'hello' }],
    ['embedding', '/v1/embeddings', { input: 'hello' }],
  ] as const)('%s goes to %s with a minimal body', (kind, path, body) => {
    const call = warmupCall(kind, 'm');
    expect(call.path).toBe(path);
    expect(call.body).toMatchObject({ model: 'm', ...body });
  });

  it('an embedding request asks for no generated tokens', () => {
    expect(warmupCall('embedding', 'm').body).not.toHaveProperty('max_tokens');
  });
});

describe('readyInstanceIds', () => {
  it('lists only InService and Healthy instances of the configured groups', () => {
    expect(
      readyInstanceIds(
        [small],
        [
          {
            AutoScalingGroupName: 'prod-small-asg',
            Instances: [inService('i-1'), { InstanceId: 'i-2', LifecycleState: 'Pending', HealthStatus: 'Healthy' }],
          },
          { AutoScalingGroupName: 'other', Instances: [inService('i-3')] },
        ],
      ),
    ).toEqual(['i-1']);
  });
});

describe('isValidAnswer', () => {
  it.each([
    ['chat', { choices: [{ message: { content: 'H' } }] }, true],
    ['chat', { choices: [] }, false],
    ['completion', { choices: [{ text: 'H' }] }, true],
    ['chat', undefined, false],
    ['chat', '<html>', false],
    ['embedding', { data: [{ embedding: [0.1, 0.2] }] }, true],
    ['embedding', { data: [] }, false],
    ['embedding', { choices: [{}] }, false],
  ] as const)('%s answer %j is valid: %s', (kind, body, valid) => {
    expect(isValidAnswer(kind, body)).toBe(valid);
  });
});

describe('summarize', () => {
  it('counts failed instances once even when both router servers fail', () => {
    const plan = planWarmups(
      [router],
      [{ AutoScalingGroupName: 'prod-router-asg', Instances: [inService('i-1'), inService('i-2')] }],
      [ip('i-1', '10.0.0.1'), ip('i-2', '10.0.0.2')],
    );
    const results: WarmupResult[] = plan.requests.map((request) => ({
      request,
      ok: request.instanceId === 'i-2',
      latencyMs: 40,
    }));
    expect(summarize([router], plan, results)).toEqual([
      { fleet: 'router', latenciesMs: [40, 40], failedInstances: 1, instances: 2 },
    ]);
  });
});
