import * as fs from 'fs';
import type { FleetSpec } from '../../lib/config/fleets';
import { metricsNamespace } from '../../contracts/metrics';
import { fleetAutoScalingGroupName, fleetLogGroupName } from '../../lib/constructs/model-fleet';
import { renderFleetUserData, RenderedUserData, vllmArgs } from '../../lib/userdata/render';
import { buildEnvironment } from './fixture';
import { Call, StubInstance, STUB_HF_TOKEN, STUB_IMDS_TOKEN, STUB_INSTANCE_ID } from './stubs';

const { config, specs } = buildEnvironment('dev');
const spec = (name: string) => specs.find((s) => s.name === name) as FleetSpec;
const IMAGE = `vllm/vllm-openai:${config.vllm.imageTag}`;
const KEEP_ALIVE = 365;

const STACK = 'LlmTierRouter-dev';
const groupLogicalId = (fleet: string) => `Fleets${fleet}GroupASG0123ABCD`;

function render(fleet: FleetSpec, healthWaitSeconds = 900): RenderedUserData {
  return renderFleetUserData({
    fleet,
    region: 'us-east-1',
    vllmImageTag: config.vllm.imageTag,
    huggingFaceTokenSecretName: config.vllm.huggingFaceTokenSecretName,
    namespace: metricsNamespace('dev'),
    autoScalingGroupName: fleetAutoScalingGroupName('dev', fleet.name),
    logGroupName: fleetLogGroupName('dev', fleet.name),
    keepAliveSeconds: KEEP_ALIVE,
    healthWaitSeconds,
    signal: { stackName: STACK, logicalResourceId: groupLogicalId(fleet.name) },
  });
}

const signal = (fleet: string, status: 'SUCCESS' | 'FAILURE'): Call => ['aws', 'cloudformation', 'signal-resource',
  '--stack-name', STACK, '--logical-resource-id', groupLogicalId(fleet), '--unique-id', STUB_INSTANCE_ID, '--status', status, '--region', 'us-east-1'];
const isSignal = (c: Call) => c[0] === 'aws' && c[1] === 'cloudformation';

const health = (port: number): Call => ['curl', '-sf', '-o', '/dev/null', '--max-time', '5', `http://127.0.0.1:${port}/health`];

function shipperCalls(fleet: string, name: string): Call[] {
  return [
    ['docker', 'rm', '-f', `log-shipper-${name}`],
    ['docker', 'run', '--rm', '--name', `log-shipper-${name}`, '--network', 'none',
      '-v', '/var/log/llm-tier-router:/logs:ro',
      '--log-driver', 'awslogs', '--log-opt', 'awslogs-region=us-east-1', '--log-opt', `awslogs-group=${fleetLogGroupName('dev', fleet)}`,
      '--log-opt', `awslogs-stream=${STUB_INSTANCE_ID}/${name}`,
      '--entrypoint', 'tail', IMAGE, '-n', '+1', '-F', `/logs/${name}.log`],
  ];
}

function vllmCalls(fleet: FleetSpec, index: number, cacheDir: string): Call[] {
  const server = fleet.servers[index];
  return [
    ['docker', 'rm', '-f', `vllm-${server.role}`],
    ['docker', 'run', '--rm', '--name', `vllm-${server.role}`, '--runtime', 'nvidia', '--gpus', 'all', '--ipc=host',
      '-p', `${server.port}:${server.port}`, '-v', `${cacheDir}:/root/.cache/huggingface`, '-e', 'HF_TOKEN',
      '-e', `VLLM_HTTP_TIMEOUT_KEEP_ALIVE=${KEEP_ALIVE}`,
      '--log-driver', 'awslogs', '--log-opt', 'awslogs-region=us-east-1', '--log-opt', `awslogs-group=${fleetLogGroupName('dev', fleet.name)}`,
      '--log-opt', `awslogs-stream=${STUB_INSTANCE_ID}/vllm-${server.role}`,
      IMAGE, ...vllmArgs(server)],
  ];
}

function bootPrologue(fleet: string): Call[] {
  return [
    ['curl', '-sSf', '--retry', '5', '-X', 'PUT', '-H', 'X-aws-ec2-metadata-token-ttl-seconds: 300', 'http://169.254.169.254/latest/api/token'],
    ['curl', '-sSf', '--retry', '5', '-H', `X-aws-ec2-metadata-token: ${STUB_IMDS_TOKEN}`, 'http://169.254.169.254/latest/meta-data/instance-id'],
    ['aws', 'secretsmanager', 'get-secret-value', '--region', 'us-east-1', '--secret-id', config.vllm.huggingFaceTokenSecretName, '--query', 'SecretString', '--output', 'text'],
    ['docker', 'pull', '--quiet', IMAGE],
    ['systemctl', 'daemon-reload'],
    ['systemctl', 'enable', '--now', 'log-shipper@boot.service', 'log-shipper@publisher.service'],
    ...shipperCalls(fleet, 'boot'),
    ...shipperCalls(fleet, 'publisher'),
  ];
}

describe('rendered boot script run with stub docker, aws, curl and systemctl', () => {
  let instance: StubInstance;
  beforeEach(() => { instance = new StubInstance({ nvme: true }); });
  afterEach(() => instance.cleanup());

  test('router: token by name, image pull, log shippers, scorer then embedding (waiting for the scorer), then the publisher', () => {
    const router = spec('router');
    const result = instance.run(render(router).script);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const cache = '/opt/dlami/nvme/huggingface';
    expect(instance.calls()).toEqual([
      ...bootPrologue('router'),
      ['systemctl', 'enable', '--now', 'vllm@scorer.service'],
      ...vllmCalls(router, 0, cache),
      health(8000),
      ['systemctl', 'enable', '--now', 'vllm@embedding.service'],
      health(8000),
      ...vllmCalls(router, 1, cache),
      health(8001),
      ['systemctl', 'enable', '--now', 'llm-metrics-publisher.service'],
      signal('router', 'SUCCESS'),
    ]);
  });

  test('router servers: the scorer with its own memory share first, the embedding model with --runner pooling second', () => {
    instance.run(render(spec('router')).script);
    const runs = instance.calls().filter((c) => c[0] === 'docker' && c[1] === 'run' && c[4].startsWith('vllm-'));
    expect(runs.map((c) => c[4])).toEqual(['vllm-scorer', 'vllm-embedding']);
    const [scorer, embedding] = runs.map((c) => c.slice(c.indexOf(IMAGE) + 1).join(' '));
    expect(scorer).toContain(`--model Qwen/Qwen2.5-1.5B-Instruct --served-model-name qwen2.5-1.5b-instruct --port 8000`);
    expect(scorer).toContain(`--gpu-memory-utilization ${config.router.scorer.gpuMemoryUtilization}`);
    expect(scorer).not.toContain('--runner');
    expect(embedding).toContain(`--port 8001`);
    expect(embedding).toContain(`--gpu-memory-utilization ${config.router.embedding.gpuMemoryUtilization}`);
    expect(embedding).toContain('--runner pooling');
    expect(embedding).toContain('--trust-remote-code');
  });

  test('the token reaches docker through the environment only: root-only file, never on a command line or in the boot log', () => {
    const result = instance.run(render(spec('small')).script);
    expect(result.status).toBe(0);
    expect(instance.read('etc/llm-tier-router/hf-token.env')).toBe(`HF_TOKEN=${STUB_HF_TOKEN}\n`);
    expect(instance.mode('etc/llm-tier-router/hf-token.env')).toBe('600');
    expect(instance.calls().flat().join(' ')).not.toContain(STUB_HF_TOKEN);
    expect(instance.read('var/log/llm-tier-router/boot.log')).not.toContain(STUB_HF_TOKEN);
    expect(fs.readFileSync(`${instance.log}.env`, 'utf8')).toContain(`HF_TOKEN=${STUB_HF_TOKEN}`);
  });

  test('tier: one generate server on port 8000, model cache on the root volume when the instance has no NVMe', () => {
    const plain = new StubInstance({ nvme: false });
    try {
      const small = spec('small');
      const result = plain.run(render(small).script);
      expect(result.status).toBe(0);
      const calls = plain.calls();
      expect(calls).toEqual([
        ...bootPrologue('small'),
        ['systemctl', 'enable', '--now', 'vllm@generate.service'],
        ...vllmCalls(small, 0, '/var/lib/llm-tier-router/huggingface'),
        health(8000),
        ['systemctl', 'enable', '--now', 'llm-metrics-publisher.service'],
        signal('small', 'SUCCESS'),
      ]);
      expect(plain.read('etc/llm-tier-router/runtime.env')).toBe(`INSTANCE_ID=${STUB_INSTANCE_ID}\nHF_CACHE_DIR=/var/lib/llm-tier-router/huggingface\n`);
    } finally {
      plain.cleanup();
    }
  });

  test('a gated model without a readable token stops the boot before pulling anything, and signals FAILURE', () => {
    const result = instance.run(render(spec('small')).script, [], { STUB_SECRET_FAIL: '1' });
    expect(result.status).not.toBe(0);
    expect(instance.calls().some((c) => c[0] === 'docker')).toBe(false);
    expect(instance.calls().filter(isSignal)).toEqual([signal('small', 'FAILURE')]);
    expect(instance.read('var/log/llm-tier-router/boot.log')).toMatch(/cannot read secret llm-tier-router\/hf-token: a served model is gated/);
  });

  test('the router (no gated model) boots without a token', () => {
    const result = instance.run(render(spec('router')).script, [], { STUB_SECRET_FAIL: '1' });
    expect(result.status).toBe(0);
    expect(instance.read('etc/llm-tier-router/hf-token.env')).toBe('HF_TOKEN=\n');
    expect(instance.calls().filter((c) => c[1] === 'run').length).toBe(4);
  });

  test('SUCCESS is signalled once, only after every server answered /health, even when the first answers fail', () => {
    const result = instance.run(render(spec('router')).script, [], { STUB_HEALTH_FAILURES: '5' });
    expect(result.status).toBe(0);
    const calls = instance.calls();
    const healthCalls = calls.map((c, i) => [c, i] as const).filter(([c]) => c[0] === 'curl' && c.at(-1)?.endsWith('/health'));
    expect(healthCalls.length).toBeGreaterThan(5 + 2);
    const signals = calls.map((c, i) => [c, i] as const).filter(([c]) => isSignal(c));
    expect(signals.map(([c]) => c)).toEqual([signal('router', 'SUCCESS')]);
    // After the last /health call of the last server (port 8001), and nothing but the publisher in between.
    const lastHealth = Math.max(...healthCalls.filter(([c]) => c.at(-1) === 'http://127.0.0.1:8001/health').map(([, i]) => i));
    expect(signals[0][1]).toBeGreaterThan(lastHealth);
    expect(calls.slice(lastHealth + 1, signals[0][1])).toEqual([['systemctl', 'enable', '--now', 'llm-metrics-publisher.service']]);
  });

  test('a server that never becomes healthy within the grace: FAILURE, no SUCCESS, no publisher, non-zero exit', () => {
    const result = instance.run(render(spec('small'), 1).script, [], { STUB_HEALTH_FAILURES: 'always', STUB_SLEEP: '0.2' });
    expect(result.status).not.toBe(0);
    const calls = instance.calls();
    expect(calls.filter(isSignal)).toEqual([signal('small', 'FAILURE')]);
    expect(calls).not.toContainEqual(['systemctl', 'enable', '--now', 'llm-metrics-publisher.service']);
    const log = instance.read('var/log/llm-tier-router/boot.log');
    expect(log).toMatch(/vLLM generate server not healthy 1 s into the boot/);
    expect(log).toMatch(/signalled FAILURE to LlmTierRouter-dev\/FleetssmallGroupASG0123ABCD/);
  });

  test('a failing step (the image pull) signals FAILURE before any server starts', () => {
    const result = instance.run(render(spec('large')).script, [], { STUB_DOCKER_EXIT: '1' });
    expect(result.status).not.toBe(0);
    const calls = instance.calls();
    expect(calls.filter((c) => c[0] === 'docker' && c[1] === 'pull')).toHaveLength(5);
    expect(calls.some((c) => c[0] === 'systemctl' && c[3]?.startsWith('vllm@'))).toBe(false);
    expect(calls.at(-1)).toEqual(signal('large', 'FAILURE'));
  });

  test('a signal no stack operation waits for (an instance a scaling policy launched) is logged, the boot still succeeds', () => {
    const result = instance.run(render(spec('small')).script, [], { STUB_SIGNAL_FAIL: '1' });
    expect(result.status).toBe(0);
    expect(instance.calls().filter(isSignal)).toEqual([signal('small', 'SUCCESS')]);
    expect(instance.read('var/log/llm-tier-router/boot.log')).toMatch(/signal SUCCESS not taken \(error above\): normal for an instance a scaling policy launched, as no stack operation waits for it\n.*boot complete/);
  });

  test.each(['router', 'small', 'large'])('%s: no container shares the host network or gets AWS credentials', (name) => {
    const result = instance.run(render(spec(name)).script);
    expect(result.status).toBe(0);
    const runs = instance.calls().filter((c) => c[0] === 'docker' && c[1] === 'run');
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      const args = run.slice(2);
      // Bridge (vLLM, published ports) or none (log shippers): either is a second hop to IMDS.
      const network = args.flatMap((a, i) => (a === '--network' || a === '--net' ? [args[i + 1]] : a.match(/^--net(?:work)?=(.*)$/)?.slice(1) ?? []));
      expect(network.filter((n) => n !== 'none' && n !== 'bridge')).toEqual([]);
      expect(args.filter((a) => /^--(privileged|pid=host|uts=host|userns=host)$/.test(a))).toEqual([]);
      const mounts = args.flatMap((a, i) => (a === '-v' || a === '--volume' || a === '--mount' ? [args[i + 1]] : []));
      for (const m of mounts) {
        expect(m).toMatch(/^(\/opt\/dlami\/nvme\/huggingface|\/var\/lib\/llm-tier-router\/huggingface):\/root\/\.cache\/huggingface$|^\/var\/log\/llm-tier-router:\/logs:ro$/);
      }
      const env = args.flatMap((a, i) => (a === '-e' || a === '--env' ? [args[i + 1]] : []));
      expect(env.filter((e) => /^AWS_|^AMAZON_/.test(e))).toEqual([]);
      expect(args.filter((a) => a === '--env-file')).toEqual([]);
    }
  });

  test('installed units run vLLM under systemd with restart on failure, after docker', () => {
    instance.run(render(spec('router')).script);
    const unit = instance.read('etc/systemd/system/vllm@.service');
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^Requires=docker\.service$/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/lib\/llm-tier-router\/vllm-%i\.sh$/m);
    expect(instance.mode('usr/local/lib/llm-tier-router/vllm-scorer.sh')).toBe('755');
    expect(instance.read('etc/systemd/system/llm-metrics-publisher.service')).toMatch(/^StandardOutput=append:\/var\/log\/llm-tier-router\/publisher\.log$/m);
  });
});

describe('metrics publisher run once with stub curl and aws', () => {
  let instance: StubInstance;
  beforeEach(() => { instance = new StubInstance(); });
  afterEach(() => instance.cleanup());

  const prometheus = (waiting: number, running: number, kv: number, model = 'm') => [
    '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{engine="0",model_name="${model}"} ${waiting}`,
    `vllm:num_requests_running{engine="0",model_name="${model}"} ${running}`,
    `vllm:num_requests_waiting_by_reason{reason="capacity"} 99`,
    `vllm:kv_cache_usage_perc{engine="0",model_name="${model}"} ${kv}`,
    `vllm:prompt_tokens_total{model_name="${model}"} 12345.0`,
  ].join('\n') + '\n';

  function publish(fleet: FleetSpec) {
    const rendered = render(fleet);
    const publisher = rendered.files['/usr/local/lib/llm-tier-router/metrics-publisher.sh'].content;
    const result = instance.run(publisher, ['--once']);
    const put = instance.calls().filter((c) => c[0] === 'aws');
    return { result, put };
  }

  test('router: waiting and running summed over both servers, KV-cache usage of the fullest, high resolution, both dimensions', () => {
    fs.writeFileSync(`${instance.metricsDir}/8000`, prometheus(3, 7, 0.25));
    fs.writeFileSync(`${instance.metricsDir}/8001`, prometheus(2, 40, 0.5));
    const { result, put } = publish(spec('router'));
    expect(result.status).toBe(0);
    expect(put).toHaveLength(1);
    const call = put[0];
    expect(call.slice(0, 7)).toEqual(['aws', 'cloudwatch', 'put-metric-data', '--region', 'us-east-1', '--namespace', 'LlmTierRouter/dev']);
    expect(call[7]).toBe('--metric-data');
    const dims = [{ Name: 'AutoScalingGroupName', Value: 'llm-tier-router-dev-router' }, { Name: 'Fleet', Value: 'router' }];
    expect(JSON.parse(call[8])).toEqual([
      { MetricName: 'vllm_num_requests_waiting', Dimensions: dims, Value: 5, Unit: 'Count', StorageResolution: 1 },
      { MetricName: 'vllm_num_requests_running', Dimensions: dims, Value: 47, Unit: 'Count', StorageResolution: 1 },
      { MetricName: 'vllm_kv_cache_usage_perc', Dimensions: dims, Value: 0.5, Unit: 'None', StorageResolution: 1 },
    ]);
  });

  test('a server that does not answer /metrics means nothing is published for the instance', () => {
    fs.writeFileSync(`${instance.metricsDir}/8000`, prometheus(3, 7, 0.25));
    const { result, put } = publish(spec('router'));
    expect(result.status).not.toBe(0);
    expect(put).toHaveLength(0);
  });

  test('tier: label sets of one gauge add up', () => {
    fs.writeFileSync(`${instance.metricsDir}/8000`, prometheus(4, 9, 0.125, 'a') + prometheus(1, 1, 0.125, 'b'));
    const { put } = publish(spec('large'));
    const data = JSON.parse(put[0][8]) as { MetricName: string; Value: number; Dimensions: unknown }[];
    expect(data.map((d) => [d.MetricName, d.Value])).toEqual([
      ['vllm_num_requests_waiting', 5], ['vllm_num_requests_running', 10], ['vllm_kv_cache_usage_perc', 0.25],
    ]);
    expect(data[0].Dimensions).toEqual([{ Name: 'AutoScalingGroupName', Value: 'llm-tier-router-dev-large' }, { Name: 'Fleet', Value: 'large' }]);
  });
});
