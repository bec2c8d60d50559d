/**
 * On-demand vCPU quotas against the fleets' maximum. EC2 counts running vCPUs per instance family
 * group; a group at its quota fails every further launch with VcpuLimitExceeded, so an Auto Scaling
 * group below its minimum never fills and one below its maximum stops scaling out.
 */
import { DescribeInstancesCommand, Instance } from '@aws-sdk/client-ec2';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ListRequestedServiceQuotaChangeHistoryByQuotaCommand,
  RequestedServiceQuotaChange,
} from '@aws-sdk/client-service-quotas';
import { instanceSpec, INSTANCE_CATALOG } from '../../../lib/catalog/instances';
import { fleetSpecs, FleetSpec } from '../../../lib/config/fleets';
import { costScopeTag } from '../../../lib/cost-stack';
import { AwsCallError } from '../aws';
import { CheckContext, guarded } from '../context';
import { CheckResult, row } from '../result';

/** One EC2 on-demand vCPU quota and the instance types it counts. */
export interface VcpuQuota {
  readonly code: string;
  readonly name: string;
  /** Instance-type patterns for the DescribeInstances filter (wildcards allowed). */
  readonly typePatterns: readonly string[];
  /** True when the quota counts this instance type. */
  matches(instanceType: string): boolean;
}

/** The on-demand vCPU quotas the catalogued GPU types fall under (Service Quotas, service `ec2`). */
export const VCPU_QUOTAS: readonly VcpuQuota[] = [
  { code: 'L-DB2E81BA', name: 'Running On-Demand G and VT instances', typePatterns: ['g*', 'vt*'], matches: (t) => /^(g|vt)\d/.test(t) },
  { code: 'L-417A185B', name: 'Running On-Demand P instances', typePatterns: ['p*'], matches: (t) => /^p\d/.test(t) },
];

/** vCPUs the fleets of one quota need. */
export interface QuotaDemand {
  readonly quota: VcpuQuota;
  readonly fleets: readonly FleetSpec[];
  /** Sum of maxCapacity x vCPUs. */
  readonly atMax: number;
  /** Sum of the highest scheduled minimum (business hours raise it) x vCPUs. */
  readonly atMin: number;
}

/** Groups the fleets by the quota that counts them. */
export function quotaDemand(fleets: readonly FleetSpec[]): QuotaDemand[] {
  return VCPU_QUOTAS.flatMap((quota) => {
    const mine = fleets.filter((f) => quota.matches(f.instanceType));
    if (mine.length === 0) return [];
    const sum = (count: (f: FleetSpec) => number) => mine.reduce((s, f) => s + count(f) * instanceSpec(f.instanceType).vcpu, 0);
    return [{
      quota,
      fleets: mine,
      atMax: sum((f) => f.maxCapacity),
      atMin: sum((f) => Math.max(f.minCapacity, f.businessHoursMinCapacity)),
    }];
  });
}

/** The vCPUs of a running instance: its CPU options, else the catalog. */
function instanceVcpus(i: Instance): number | undefined {
  const cores = i.CpuOptions?.CoreCount;
  const threads = i.CpuOptions?.ThreadsPerCore;
  if (cores && threads) return cores * threads;
  return i.InstanceType ? INSTANCE_CATALOG[i.InstanceType]?.vcpu : undefined;
}

/** vCPUs of running and pending instances of the quota's types, except this environment's own. */
async function otherUsage(ctx: CheckContext, quota: VcpuQuota): Promise<number> {
  const ec2 = ctx.clients(ctx.cfg.region).ec2;
  const own = costScopeTag(ctx.cfg.envName);
  let total = 0;
  let NextToken: string | undefined;
  do {
    const page = await ctx.call('ec2:DescribeInstances', (abortSignal) => ec2.send(new DescribeInstancesCommand({
      Filters: [
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
        { Name: 'instance-type', Values: [...quota.typePatterns] },
      ],
      MaxResults: 1000,
      NextToken,
    }), { abortSignal }));
    for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      if (instance.Tags?.some((t) => t.Key === own.key && t.Value === own.value)) continue;
      total += instanceVcpus(instance) ?? 0;
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return total;
}

/** The applied value, the AWS default, and which one is in force. */
async function quotaValue(ctx: CheckContext, quota: VcpuQuota): Promise<{ value: number; applied?: number; defaultValue?: number }> {
  const sq = ctx.clients(ctx.cfg.region).quotas;
  const ids = { ServiceCode: 'ec2', QuotaCode: quota.code };
  const [applied, byDefault] = await Promise.allSettled([
    ctx.call('servicequotas:GetServiceQuota', (abortSignal) => sq.send(new GetServiceQuotaCommand(ids), { abortSignal })),
    ctx.call('servicequotas:GetAWSDefaultServiceQuota', (abortSignal) => sq.send(new GetAWSDefaultServiceQuotaCommand(ids), { abortSignal })),
  ]);
  const appliedValue = applied.status === 'fulfilled' ? applied.value.Quota?.Value : undefined;
  const defaultValue = byDefault.status === 'fulfilled' ? byDefault.value.Quota?.Value : undefined;
  // No applied value (NoSuchResourceException) means the account runs on the default.
  const noApplied = applied.status === 'rejected' && (applied.reason as AwsCallError).code === 'NoSuchResourceException';
  if (appliedValue !== undefined) return { value: appliedValue, applied: appliedValue, defaultValue };
  if (defaultValue !== undefined && (noApplied || applied.status === 'fulfilled')) return { value: defaultValue, defaultValue };
  throw applied.status === 'rejected' ? applied.reason : (byDefault as PromiseRejectedResult).reason;
}

/** An increase request still open (pending or with a support case), if any. */
async function openRequest(ctx: CheckContext, quota: VcpuQuota): Promise<RequestedServiceQuotaChange | undefined> {
  const sq = ctx.clients(ctx.cfg.region).quotas;
  const history = await ctx.call('servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota', (abortSignal) =>
    sq.send(new ListRequestedServiceQuotaChangeHistoryByQuotaCommand({ ServiceCode: 'ec2', QuotaCode: quota.code }), { abortSignal }));
  return (history.RequestedQuotas ?? []).find((r) => r.Status === 'PENDING' || r.Status === 'CASE_OPENED');
}

/** `router 4x4 + small 8x4`: each fleet's maximum times its vCPUs. */
function breakdown(d: QuotaDemand): string {
  return d.fleets.map((f) => `${f.name} ${f.maxCapacity}x${instanceSpec(f.instanceType).vcpu}`).join(' + ');
}

/** One row per vCPU quota the fleets fall under. */
export async function checkQuotas(ctx: CheckContext): Promise<CheckResult[]> {
  const demands = quotaDemand(fleetSpecs(ctx.cfg));
  const rows = await Promise.all(demands.map((d) => guarded(`vCPU quota ${d.quota.code}`, () => checkQuota(ctx, d))));
  return rows.flat();
}

async function checkQuota(ctx: CheckContext, d: QuotaDemand): Promise<CheckResult[]> {
  const check = `vCPU quota ${d.quota.code}`;
  const region = ctx.cfg.region;
  const [value, usage, request] = await Promise.allSettled([quotaValue(ctx, d.quota), otherUsage(ctx, d.quota), openRequest(ctx, d.quota)]);
  if (value.status === 'rejected') throw value.reason;
  const { value: quota, applied, defaultValue } = value.value;

  const source = applied !== undefined
    ? `applied${defaultValue !== undefined ? `; AWS default ${defaultValue}` : ''}`
    : 'AWS default, no increase applied';
  const used = usage.status === 'fulfilled' ? usage.value : undefined;
  const usedText = used !== undefined
    ? `other ${d.quota.name.replace('Running On-Demand ', '')} use ${used} vCPU now`
    : `current usage unknown (${usageFailure(usage)})`;
  const open = request.status === 'fulfilled' ? request.value : undefined;
  const openText = open ? `; an increase to ${open.DesiredValue} is ${open.Status}` : '';
  const detail = `${d.quota.name}: quota ${quota} vCPU (${source}); fleets need ${d.atMax} at maxCapacity (${breakdown(d)}), ${d.atMin} at their minimum; ${usedText}${openText}`;

  const desired = d.atMax + (used ?? 0);
  const requestFix = open && (open.DesiredValue ?? 0) >= desired
    ? `wait for the open request (${open.DesiredValue} vCPU) to be approved, then run preflight again`
    : `aws service-quotas request-service-quota-increase --region ${region} --service-code ec2 --quota-code ${d.quota.code} --desired-value ${desired}`;
  if (quota < d.atMin) {
    return [row(check, 'BLOCK', `${detail}: below the fleets' minimum, instances fail with VcpuLimitExceeded`, requestFix)];
  }
  if (quota < d.atMax) {
    return [row(check, 'BLOCK', `${detail}: scale-out stops short of maxCapacity`, `${requestFix}; or lower maxCapacity (-c tiers.<name>.maxCapacity=N)`)];
  }
  if (used !== undefined && quota - used < d.atMax) {
    return [row(check, 'WARN', `${detail}: headroom ${quota - used} vCPU is below the fleets' maximum`, requestFix)];
  }
  return [row(check, 'PASS', detail)];
}

function usageFailure(usage: PromiseSettledResult<number>): string {
  if (usage.status === 'fulfilled') return '';
  const e = usage.reason as AwsCallError;
  return e.kind === 'denied' ? `needs ${e.action}` : `${e.action}: ${e.message}`;
}
