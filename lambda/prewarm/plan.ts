/**
 * Pure planning logic of the pre-warm function: from the fleets it was configured with and what the
 * Auto Scaling and EC2 APIs report, decide which warm-up requests to send. No I/O here.
 */

import type { FleetTarget, ServerKind } from '../../contracts/prewarm';

export type { FleetTarget, ServerKind, ServerTarget } from '../../contracts/prewarm';

/** The fields of a DescribeAutoScalingGroups group the plan reads. */
export interface GroupDescription {
  readonly AutoScalingGroupName?: string;
  readonly Instances?: ReadonlyArray<{
    readonly InstanceId?: string;
    readonly LifecycleState?: string;
    readonly HealthStatus?: string;
  }>;
}

/** The fields of a DescribeInstances reservation the plan reads. */
export interface ReservationDescription {
  readonly Instances?: ReadonlyArray<{
    readonly InstanceId?: string;
    readonly PrivateIpAddress?: string;
  }>;
}

/** One HTTP request to send to one server on one instance. */
export interface WarmupRequest {
  readonly fleet: string;
  readonly instanceId: string;
  readonly host: string;
  readonly port: number;
  readonly kind: ServerKind;
  readonly path: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** An instance the plan leaves out, with the reason, for the logs. */
export interface SkippedInstance {
  readonly fleet: string;
  readonly instanceId: string;
  readonly reason: 'not-in-service' | 'unhealthy' | 'no-private-ip';
}

/** The outcome of planning: requests to send, instances left out, and ready instances per fleet. */
export interface WarmupPlan {
  readonly requests: readonly WarmupRequest[];
  readonly skipped: readonly SkippedInstance[];
  /** Instances of each fleet that get warm-up requests, keyed by fleet name (0 for an empty fleet). */
  readonly instancesPerFleet: Readonly<Record<string, number>>;
}

/** The one word every warm-up request sends: enough to run one forward pass, cheap to answer. */
export const WARMUP_PROMPT = 'hello';

/** Path and body of the smallest request that makes a server of this kind run its model once. */
export function warmupCall(kind: ServerKind, model: string): { path: string; body: Record<string, unknown> } {
  switch (kind) {
    case 'chat':
      return {
        path: '/v1/chat/completions',
        body: { model, messages: [{ role: 'user', content: WARMUP_PROMPT }], max_tokens: 1, temperature: 0 },
      };
    case 'completion':
      return { path: '/v1/completions', body: { model, prompt: WARMUP_PROMPT, max_tokens: 1, temperature: 0 } };
    case 'embedding':
      return { path: '/v1/embeddings', body: { model, input: WARMUP_PROMPT } };
  }
}

/**
 * Builds one request per server per ready instance. Ready means InService and Healthy in its Auto
 * Scaling group, with a private IP: instances still pending, in standby, terminating or marked
 * unhealthy are left out, because their servers are loading or going away.
 */
export function planWarmups(
  fleets: readonly FleetTarget[],
  groups: readonly GroupDescription[],
  reservations: readonly ReservationDescription[],
): WarmupPlan {
  const ips = new Map<string, string>();
  for (const reservation of reservations) {
    for (const instance of reservation.Instances ?? []) {
      if (instance.InstanceId && instance.PrivateIpAddress) ips.set(instance.InstanceId, instance.PrivateIpAddress);
    }
  }
  const groupsByName = new Map<string, GroupDescription>();
  for (const group of groups) {
    if (group.AutoScalingGroupName) groupsByName.set(group.AutoScalingGroupName, group);
  }

  const requests: WarmupRequest[] = [];
  const skipped: SkippedInstance[] = [];
  const instancesPerFleet: Record<string, number> = {};
  for (const fleet of fleets) {
    instancesPerFleet[fleet.fleet] = 0;
    for (const instance of groupsByName.get(fleet.asgName)?.Instances ?? []) {
      const instanceId = instance.InstanceId;
      if (!instanceId) continue;
      if (instance.LifecycleState !== 'InService') {
        skipped.push({ fleet: fleet.fleet, instanceId, reason: 'not-in-service' });
        continue;
      }
      if (instance.HealthStatus !== 'Healthy') {
        skipped.push({ fleet: fleet.fleet, instanceId, reason: 'unhealthy' });
        continue;
      }
      const host = ips.get(instanceId);
      if (!host) {
        skipped.push({ fleet: fleet.fleet, instanceId, reason: 'no-private-ip' });
        continue;
      }
      instancesPerFleet[fleet.fleet] += 1;
      for (const server of fleet.servers) {
        const { path, body } = warmupCall(server.kind, server.model);
        requests.push({ fleet: fleet.fleet, instanceId, host, port: server.port, kind: server.kind, path, body });
      }
    }
  }
  return { requests, skipped, instancesPerFleet };
}

/** Instance ids that are InService and Healthy in the given groups: the ones whose IPs are needed. */
export function readyInstanceIds(fleets: readonly FleetTarget[], groups: readonly GroupDescription[]): string[] {
  const names = new Set(fleets.map((f) => f.asgName));
  const ids: string[] = [];
  for (const group of groups) {
    if (!group.AutoScalingGroupName || !names.has(group.AutoScalingGroupName)) continue;
    for (const instance of group.Instances ?? []) {
      if (instance.InstanceId && instance.LifecycleState === 'InService' && instance.HealthStatus === 'Healthy') {
        ids.push(instance.InstanceId);
      }
    }
  }
  return ids;
}

/**
 * Whether a 200 response body is what the server kind answers: a completion with `choices`, an
 * embedding with a vector. A proxy page or a truncated body is a failure, not a warm server.
 */
export function isValidAnswer(kind: ServerKind, body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  if (kind === 'embedding') {
    const data = (body as { data?: unknown }).data;
    return Array.isArray(data) && data.length > 0 && Array.isArray((data[0] as { embedding?: unknown })?.embedding);
  }
  const choices = (body as { choices?: unknown }).choices;
  return Array.isArray(choices) && choices.length > 0;
}

/** Outcome of one warm-up request. */
export interface WarmupResult {
  readonly request: WarmupRequest;
  readonly ok: boolean;
  readonly latencyMs: number;
  /** Why it failed: `timeout`, `connect: ECONNREFUSED`, `status 500`, `invalid body`. */
  readonly error?: string;
}

/** Per-fleet figures the function publishes. */
export interface FleetSummary {
  readonly fleet: string;
  /** Latency of each successful request, in milliseconds. */
  readonly latenciesMs: readonly number[];
  /** Instances with at least one failed request. */
  readonly failedInstances: number;
  readonly instances: number;
}

/** Groups results by fleet; every configured fleet appears, so a fleet at 0 instances reports 0 failures. */
export function summarize(
  fleets: readonly FleetTarget[],
  plan: WarmupPlan,
  results: readonly WarmupResult[],
): FleetSummary[] {
  return fleets.map((fleet) => {
    const own = results.filter((r) => r.request.fleet === fleet.fleet);
    const failed = new Set(own.filter((r) => !r.ok).map((r) => r.request.instanceId));
    return {
      fleet: fleet.fleet,
      latenciesMs: own.filter((r) => r.ok).map((r) => r.latencyMs),
      failedInstances: failed.size,
      instances: plan.instancesPerFleet[fleet.fleet] ?? 0,
    };
  });
}
