import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeInstancesCommand, EC2Client, type Reservation } from '@aws-sdk/client-ec2';
import { loadConfig, type PrewarmConfig } from './config';
import { mapWithConcurrency, postJson, type PostJson } from './http';
import { buildMetricData } from './metric-data';
import {
  isValidAnswer,
  planWarmups,
  readyInstanceIds,
  summarize,
  type FleetSummary,
  type WarmupRequest,
  type WarmupResult,
} from './plan';

/** One structured log line. */
export type Log = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/** Writes one JSON object per line, which CloudWatch Logs Insights parses without a pattern. */
export const jsonLog: Log = (level, message, fields = {}) => {
  const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...fields });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};

/** Everything a run talks to, injected so tests replace each piece. */
export interface PrewarmDeps {
  readonly config: PrewarmConfig;
  readonly autoScaling: AutoScalingClient;
  readonly ec2: EC2Client;
  readonly cloudWatch: CloudWatchClient;
  /** @default postJson (node:http) */
  readonly post?: PostJson;
  /** @default jsonLog */
  readonly log?: Log;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** What a run did, returned to the scheduler's invocation record and asserted by tests. */
export interface PrewarmReport {
  readonly requests: number;
  readonly failures: number;
  readonly fleets: readonly FleetSummary[];
}

/** DescribeInstances accepts many ids per call; smaller batches keep each response small. */
const INSTANCE_IDS_PER_CALL = 100;

async function describeGroups(client: AutoScalingClient, names: string[]): Promise<AutoScalingGroup[]> {
  const groups: AutoScalingGroup[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: names, NextToken }));
    groups.push(...(page.AutoScalingGroups ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return groups;
}

async function describeInstances(client: EC2Client, ids: string[]): Promise<Reservation[]> {
  const reservations: Reservation[] = [];
  for (let i = 0; i < ids.length; i += INSTANCE_IDS_PER_CALL) {
    let NextToken: string | undefined;
    do {
      const page = await client.send(
        new DescribeInstancesCommand({ InstanceIds: ids.slice(i, i + INSTANCE_IDS_PER_CALL), NextToken }),
      );
      reservations.push(...(page.Reservations ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return reservations;
}

async function warmOne(request: WarmupRequest, post: PostJson, timeoutMs: number): Promise<WarmupResult> {
  const started = performance.now();
  try {
    const response = await post(request.host, request.port, request.path, request.body, timeoutMs);
    const latencyMs = performance.now() - started;
    if (response.status !== 200) return { request, ok: false, latencyMs, error: `status ${response.status}` };
    if (!isValidAnswer(request.kind, response.body)) return { request, ok: false, latencyMs, error: 'invalid body' };
    return { request, ok: true, latencyMs };
  } catch (err) {
    return { request, ok: false, latencyMs: performance.now() - started, error: (err as Error).message };
  }
}

/**
 * One pre-warm run: list the ready instances of every fleet, send each server one minimal request in
 * parallel (bounded), and publish latency and failures per fleet in one PutMetricData call. A failed
 * instance is logged and counted; it never stops the others. Describe or publish errors fail the
 * run, so the scheduler retries and finally dead-letters it.
 */
export async function runPrewarm(deps: PrewarmDeps): Promise<PrewarmReport> {
  const { config } = deps;
  const post = deps.post ?? postJson;
  const log = deps.log ?? jsonLog;
  const now = deps.now ?? (() => new Date());

  const groups = await describeGroups(
    deps.autoScaling,
    config.FLEETS.map((f) => f.asgName),
  );
  const ids = readyInstanceIds(config.FLEETS, groups);
  const reservations = ids.length > 0 ? await describeInstances(deps.ec2, ids) : [];
  const plan = planWarmups(config.FLEETS, groups, reservations);
  for (const skipped of plan.skipped) log('info', 'instance skipped', { ...skipped });

  const results = await mapWithConcurrency(plan.requests, config.CONCURRENCY, (r) =>
    warmOne(r, post, config.TIMEOUT_MS),
  );
  for (const result of results) {
    const { fleet, instanceId, host, port, kind } = result.request;
    const fields = { fleet, instanceId, host, port, kind, latencyMs: Math.round(result.latencyMs) };
    if (result.ok) log('info', 'instance warmed', fields);
    else log('warn', 'warm-up failed', { ...fields, error: result.error });
  }

  const fleets = summarize(config.FLEETS, plan, results);
  await deps.cloudWatch.send(
    new PutMetricDataCommand({ Namespace: config.METRICS_NAMESPACE, MetricData: buildMetricData(fleets, now()) }),
  );
  const report: PrewarmReport = {
    requests: results.length,
    failures: results.filter((r) => !r.ok).length,
    fleets,
  };
  log('info', 'pre-warm finished', {
    requests: report.requests,
    failures: report.failures,
    fleets: fleets.map((f) => ({ fleet: f.fleet, instances: f.instances, failedInstances: f.failedInstances })),
  });
  return report;
}

let clients: { autoScaling: AutoScalingClient; ec2: EC2Client; cloudWatch: CloudWatchClient } | undefined;

/** Lambda entry point, invoked by EventBridge Scheduler; configuration comes from the environment. */
export async function handler(): Promise<PrewarmReport> {
  const config = loadConfig(process.env);
  clients ??= { autoScaling: new AutoScalingClient({}), ec2: new EC2Client({}), cloudWatch: new CloudWatchClient({}) };
  return runPrewarm({ config, ...clients });
}
