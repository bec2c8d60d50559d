import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { Dimension, PrewarmMetric } from '../../../contracts/metrics';
import type { PrewarmConfig } from '../../../lambda/prewarm/config';
import { postJson, type PostJson } from '../../../lambda/prewarm/http';
import { handler, runPrewarm, type Log } from '../../../lambda/prewarm/index';

type Behaviour = 'ok' | 'slow' | 'error500' | 'garbage' | 'embedding';

/** Starts a vLLM stand-in on 127.0.0.1 that answers the way `behaviour` says. */
async function startServer(behaviour: Behaviour): Promise<{ port: number; server: http.Server; paths: string[] }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      paths.push(`${req.url} ${raw}`);
      switch (behaviour) {
        case 'ok':
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'Hi' } }] }));
          return;
        case 'embedding':
          res.end(JSON.stringify({ data: [{ embedding: [0.1, 0.2, 0.3] }] }));
          return;
        case 'slow':
          setTimeout(() => res.end(JSON.stringify({ choices: [{}] })), 2000).unref();
          return;
        case 'error500':
          res.statusCode = 500;
          res.end(JSON.stringify({ error: 'engine dead' }));
          return;
        case 'garbage':
          res.end('<html>not json');
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server, paths };
}

/** A port on 127.0.0.1 with nothing listening: connections are refused. */
async function refusedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const asMock = mockClient(AutoScalingClient);
const ec2Mock = mockClient(EC2Client);
const cwMock = mockClient(CloudWatchClient);
const silent: Log = () => undefined;

/**
 * Every instance lives on 127.0.0.1; a per-instance port map sends each instance's request to the
 * local server playing it, since the real function uses the same port on different IPs.
 */
function routedPost(portOf: Record<string, number>): PostJson {
  return (host, port, path, body, timeoutMs) => {
    const [, instanceKey] = host.split('#');
    return postJson('127.0.0.1', portOf[`${instanceKey}:${port}`] ?? port, path, body, timeoutMs);
  };
}

function stubAws(instances: Record<string, string[]>): void {
  asMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: Object.entries(instances).map(([name, ids]) => ({
      AutoScalingGroupName: name,
      Instances: ids.map((InstanceId) => ({ InstanceId, LifecycleState: 'InService', HealthStatus: 'Healthy' })),
    })) as never,
  });
  ec2Mock.on(DescribeInstancesCommand).callsFake((input: { InstanceIds: string[] }) => ({
    Reservations: [{ Instances: input.InstanceIds.map((id) => ({ InstanceId: id, PrivateIpAddress: `127.0.0.1#${id}` })) }],
  }));
  cwMock.on(PutMetricDataCommand).resolves({});
}

const servers: http.Server[] = [];
afterEach(async () => {
  asMock.reset();
  ec2Mock.reset();
  cwMock.reset();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function start(behaviour: Behaviour) {
  const s = await startServer(behaviour);
  servers.push(s.server);
  return s;
}

const baseConfig = (fleets: PrewarmConfig['FLEETS']): PrewarmConfig => ({
  FLEETS: fleets,
  METRICS_NAMESPACE: 'LlmTierRouter/test',
  TIMEOUT_MS: 500,
  CONCURRENCY: 4,
});

describe('runPrewarm', () => {
  it('one slow, one refusing, one 500 and one garbage instance never stop the healthy one', async () => {
    const [ok, slow, error500, garbage] = await Promise.all([start('ok'), start('slow'), start('error500'), start('garbage')]);
    const refused = await refusedPort();
    stubAws({ 'small-asg': ['i-ok', 'i-slow', 'i-refused', 'i-500', 'i-garbage'] });
    const warned: string[] = [];
    const log: Log = (level, _msg, fields) => {
      if (level === 'warn') warned.push(`${fields?.instanceId} ${fields?.error}`);
    };

    const started = Date.now();
    const report = await runPrewarm({
      config: baseConfig([{ fleet: 'small', asgName: 'small-asg', servers: [{ port: 8000, kind: 'chat', model: 'small' }] }]),
      autoScaling: new AutoScalingClient({}),
      ec2: new EC2Client({}),
      cloudWatch: new CloudWatchClient({}),
      post: routedPost({
        'i-ok:8000': ok.port,
        'i-slow:8000': slow.port,
        'i-refused:8000': refused,
        'i-500:8000': error500.port,
        'i-garbage:8000': garbage.port,
      }),
      log,
      now: () => new Date('2026-01-01T00:00:00Z'),
    });

    expect(Date.now() - started).toBeLessThan(1900);
    expect(report).toMatchObject({ requests: 5, failures: 4 });
    expect(warned.sort()).toEqual([
      'i-500 status 500',
      'i-garbage invalid body',
      'i-refused connect: ECONNREFUSED',
      'i-slow timeout',
    ]);
    expect(ok.paths[0]).toMatch(/^\/v1\/chat\/completions .*"max_tokens":1/);

    const calls = cwMock.commandCalls(PutMetricDataCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0].args[0].input;
    expect(input.Namespace).toBe('LlmTierRouter/test');
    const fleetDim = [{ Name: Dimension.Fleet, Value: 'small' }];
    expect(input.MetricData).toEqual([
      expect.objectContaining({ MetricName: PrewarmMetric.WarmupFailures, Dimensions: fleetDim, Value: 4, Unit: 'Count' }),
      expect.objectContaining({
        MetricName: PrewarmMetric.WarmupLatency,
        Dimensions: fleetDim,
        Values: [expect.any(Number)],
        Unit: 'Milliseconds',
      }),
    ]);
  });

  it('warms both router servers with their own request shape', async () => {
    const [scorer, embedder] = await Promise.all([start('ok'), start('embedding')]);
    stubAws({ 'router-asg': ['i-r1'] });
    const report = await runPrewarm({
      config: baseConfig([
        {
          fleet: 'router',
          asgName: 'router-asg',
          servers: [
            { port: 8000, kind: 'chat', model: 'scorer' },
            { port: 8001, kind: 'embedding', model: 'embedder' },
          ],
        },
      ]),
      autoScaling: new AutoScalingClient({}),
      ec2: new EC2Client({}),
      cloudWatch: new CloudWatchClient({}),
      post: routedPost({ 'i-r1:8000': scorer.port, 'i-r1:8001': embedder.port }),
      log: silent,
    });
    expect(report).toMatchObject({ requests: 2, failures: 0 });
    expect(embedder.paths[0]).toMatch(/^\/v1\/embeddings .*"input":"hello"/);
    expect(scorer.paths[0]).toMatch(/"model":"scorer"/);
  });

  it('asks EC2 only about ready instances and reports 0 failures for an empty fleet', async () => {
    const ok = await start('ok');
    asMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: 'small-asg',
          Instances: [
            { InstanceId: 'i-1', LifecycleState: 'InService', HealthStatus: 'Healthy' },
            { InstanceId: 'i-2', LifecycleState: 'Pending', HealthStatus: 'Healthy' },
          ],
        },
        { AutoScalingGroupName: 'large-asg', Instances: [] },
      ] as never,
    });
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: 'i-1', PrivateIpAddress: '127.0.0.1' }] }],
    });
    cwMock.on(PutMetricDataCommand).resolves({});

    await runPrewarm({
      config: baseConfig([
        { fleet: 'small', asgName: 'small-asg', servers: [{ port: ok.port, kind: 'chat', model: 's' }] },
        { fleet: 'large', asgName: 'large-asg', servers: [{ port: ok.port, kind: 'chat', model: 'l' }] },
      ]),
      autoScaling: new AutoScalingClient({}),
      ec2: new EC2Client({}),
      cloudWatch: new CloudWatchClient({}),
      log: silent,
    });

    expect(asMock.commandCalls(DescribeAutoScalingGroupsCommand)[0].args[0].input.AutoScalingGroupNames).toEqual([
      'small-asg',
      'large-asg',
    ]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0].args[0].input.InstanceIds).toEqual(['i-1']);
    const data = cwMock.commandCalls(PutMetricDataCommand)[0].args[0].input.MetricData ?? [];
    expect(data).toContainEqual(
      expect.objectContaining({ MetricName: PrewarmMetric.WarmupFailures, Dimensions: [{ Name: 'Fleet', Value: 'large' }], Value: 0 }),
    );
    expect(data.filter((d) => d.MetricName === PrewarmMetric.WarmupLatency)).toHaveLength(1);
  });

  it('never calls EC2 when no instance is ready', async () => {
    stubAws({ 'small-asg': [] });
    await runPrewarm({
      config: baseConfig([{ fleet: 'small', asgName: 'small-asg', servers: [{ port: 8000, kind: 'chat', model: 's' }] }]),
      autoScaling: new AutoScalingClient({}),
      ec2: new EC2Client({}),
      cloudWatch: new CloudWatchClient({}),
      log: silent,
    });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    expect(cwMock.commandCalls(PutMetricDataCommand)).toHaveLength(1);
  });

  it('follows DescribeAutoScalingGroups pages', async () => {
    asMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolvesOnce({ AutoScalingGroups: [], NextToken: 'page2' })
      .resolvesOnce({ AutoScalingGroups: [] });
    cwMock.on(PutMetricDataCommand).resolves({});
    await runPrewarm({
      config: baseConfig([{ fleet: 'small', asgName: 'small-asg', servers: [{ port: 8000, kind: 'chat', model: 's' }] }]),
      autoScaling: new AutoScalingClient({}),
      ec2: new EC2Client({}),
      cloudWatch: new CloudWatchClient({}),
      log: silent,
    });
    const calls = asMock.commandCalls(DescribeAutoScalingGroupsCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1].args[0].input.NextToken).toBe('page2');
  });

  it('fails the run when the Auto Scaling API fails, so the scheduler retries it', async () => {
    asMock.on(DescribeAutoScalingGroupsCommand).rejects(new Error('Throttling'));
    await expect(
      runPrewarm({
        config: baseConfig([{ fleet: 'small', asgName: 'small-asg', servers: [{ port: 8000, kind: 'chat', model: 's' }] }]),
        autoScaling: new AutoScalingClient({}),
        ec2: new EC2Client({}),
        cloudWatch: new CloudWatchClient({}),
        log: silent,
      }),
    ).rejects.toThrow('Throttling');
  });
});

describe('handler', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reads its configuration from the environment', async () => {
    stubAws({ 'small-asg': [] });
    process.env.FLEETS = JSON.stringify([{ fleet: 'small', asgName: 'small-asg', servers: [{ port: 8000, kind: 'chat', model: 's' }] }]);
    process.env.METRICS_NAMESPACE = 'LlmTierRouter/dev';
    process.env.AWS_REGION = 'us-east-1';
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await expect(handler()).resolves.toMatchObject({ requests: 0, failures: 0 });
      expect(JSON.parse(String(log.mock.calls.at(-1)?.[0]))).toMatchObject({ level: 'info', message: 'pre-warm finished' });
    } finally {
      log.mockRestore();
    }
    expect(cwMock.commandCalls(PutMetricDataCommand)[0].args[0].input.Namespace).toBe('LlmTierRouter/dev');
  });

  it('refuses to run with a broken configuration', async () => {
    process.env.FLEETS = '[]';
    delete process.env.METRICS_NAMESPACE;
    await expect(handler()).rejects.toThrow(/invalid pre-warm configuration: FLEETS.*METRICS_NAMESPACE/);
  });
});
