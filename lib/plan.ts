/**
 * The capacity and cost plan of one environment: per-fleet memory fit and price, the fleet total,
 * and the workload comparison of "everything on the large tier" against "routed".
 */
import type { EnvConfig } from './config/schema';
import { fleetSpecs, FleetSpec } from './config/fleets';
import { GIB, planServer, ServerFit } from './catalog/fit';
import { instanceSpec } from './catalog/instances';
import { breakEvenRequestsPerMonth, compareWorkload, fleetCost, FleetCost, impliedTokensPerSecond, WorkloadComparison } from './catalog/cost';

/** One server's row of the plan. */
export interface ServerPlan {
  readonly role: string;
  readonly servedModelName: string;
  readonly weightFormat: string;
  readonly kvCacheDtype: string;
  readonly maxModelLen: number;
  readonly fit: ServerFit;
}

/** One fleet's plan. */
export interface FleetPlan {
  readonly fleet: FleetSpec;
  readonly gpus: number;
  readonly servers: readonly ServerPlan[];
  readonly cost: FleetCost;
  /** Sustained output tokens/s one instance must produce to earn the tier's price (tiers only). */
  readonly impliedTokensPerSecond?: number;
}

/** The whole plan. */
export interface EnvironmentPlan {
  readonly envName: string;
  readonly fleets: readonly FleetPlan[];
  readonly totalUsdPerHourMin: number;
  readonly totalUsdPerHourMax: number;
  readonly totalUsdPerMonthMin: number;
  readonly totalUsdPerMonthMax: number;
  readonly workload: EnvConfig['workload'];
  readonly comparison: WorkloadComparison;
  /**
   * Requests per month from which on routing costs no more than every request on the large tier
   * (same tokens per request and large share); undefined when it never does.
   */
  readonly breakEvenRequestsPerMonth: number | undefined;
  /** Things a user should know before deploying (small KV caches, tight fits). */
  readonly notes: readonly string[];
}

/** Computes the plan of a validated environment. */
export function planEnvironment(cfg: EnvConfig): EnvironmentPlan {
  const specs = fleetSpecs(cfg);
  const notes: string[] = [];
  const fleets = specs.map((fleet): FleetPlan => {
    const servers = fleet.servers.map((s): ServerPlan => {
      const fit = planServer({
        instanceType: fleet.instanceType,
        model: s.model,
        weightFormat: s.weightFormat,
        tensorParallelSize: s.tensorParallelSize,
        gpuMemoryUtilization: s.gpuMemoryUtilization,
        maxModelLen: s.maxModelLen,
        kvCacheDtype: s.kvCacheDtype,
        runtimeReserveGiB: cfg.vllm.runtimeReserveGiB,
      });
      if (s.runner === 'generate' && fit.fullLengthSequences < s.maxNumSeqs && fit.fullLengthSequences < 8) {
        notes.push(
          `${fleet.name}/${s.role}: the KV cache holds ${fit.kvCapacityTokens.toLocaleString('en-US')} tokens, only ` +
          `${fit.fullLengthSequences} full ${s.maxModelLen}-token sequence(s) at once; ` +
          `maxNumSeqs ${s.maxNumSeqs} is reached only with short requests, long ones queue.`,
        );
      }
      return { role: s.role, servedModelName: s.servedModelName, weightFormat: s.weightFormat, kvCacheDtype: s.kvCacheDtype, maxModelLen: s.maxModelLen, fit };
    });
    const cost = fleetCost(fleet);
    return {
      fleet,
      gpus: instanceSpec(fleet.instanceType).gpus,
      servers,
      cost,
      impliedTokensPerSecond: fleet.pricePer1kOutputTokensUsd
        ? impliedTokensPerSecond(cost.usdPerHourEach, fleet.pricePer1kOutputTokensUsd)
        : undefined,
    };
  });
  const sum = (pick: (c: FleetCost) => number) => fleets.reduce((acc, f) => acc + pick(f.cost), 0);
  const tierInputs = cfg.tiers.map((t) => ({
    name: t.name, instanceType: t.instanceType, minCapacity: t.minCapacity, maxCapacity: t.maxCapacity, pricePer1kOutputTokensUsd: t.pricePer1kOutputTokensUsd,
  }));
  const comparison = compareWorkload(tierInputs, cfg.router, cfg.workload);
  const breakEven = breakEvenRequestsPerMonth(tierInputs, cfg.router, cfg.workload);
  return {
    envName: cfg.envName,
    fleets,
    totalUsdPerHourMin: sum((c) => c.usdPerHourMin),
    totalUsdPerHourMax: sum((c) => c.usdPerHourMax),
    totalUsdPerMonthMin: sum((c) => c.usdPerMonthMin),
    totalUsdPerMonthMax: sum((c) => c.usdPerMonthMax),
    workload: cfg.workload,
    comparison,
    breakEvenRequestsPerMonth: breakEven,
    notes,
  };
}

const usd = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const rate = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 5 })}`;
const gibText = (bytes: number) => (bytes / GIB).toFixed(1);
const int = (n: number) => Math.floor(n).toLocaleString('en-US');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Why a negative saving is negative, and from what volume on routing pays. */
function whyRoutingCostsMore(plan: EnvironmentPlan): string[] {
  const w = plan.workload;
  const c = plan.comparison;
  const floors = c.routed.tiers.reduce((sum, t) => sum + t.floorUsd, 0);
  const fixed = [`the router fleet at its min capacity (${usd(c.routed.routerUsd)})`];
  if (floors > 0) fixed.push(`the tiers' min-capacity floors (${usd(floors)})`);
  const lines = [
    `Routing costs more than it saves at ${int(w.requestsPerMonth)} requests/month: ${fixed.join(' and ')} ${fixed.length > 1 ? 'are' : 'is'} paid per month whatever the traffic, ` +
      `while sending every request to the large tier costs ${usd(c.allLarge.totalUsd)}/month.`,
  ];
  const be = plan.breakEvenRequestsPerMonth;
  lines.push(be === undefined
    ? 'Routing never breaks even with these prices: the small tier\'s price per output token is not below the large tier\'s.'
    : `Routing breaks even from about ${int(be)} requests/month (at ${int(w.outputTokensPerRequest)} output tokens each, ${(w.largeShare * 100).toFixed(1)}% to the large tier).`);
  return lines;
}

/** Renders the plan as the text `npm run plan` prints. */
export function formatPlan(plan: EnvironmentPlan): string {
  const out: string[] = [];
  out.push(`Plan for environment "${plan.envName}" (us-east-1 on-demand prices, 730 h/month)`, '');
  const rows: string[][] = [];
  for (const f of plan.fleets) {
    f.servers.forEach((s, i) => {
      rows.push([
        i === 0 ? f.fleet.name : '',
        `${s.role}: ${s.servedModelName} ${s.weightFormat}`,
        i === 0 ? f.fleet.instanceType : '',
        `${s.fit.gpusUsed}/${f.gpus}`,
        gibText(s.fit.weightsBytes),
        s.fit.kvBytesPerToken === 0 ? 'n/a' : `${int(s.fit.kvCapacityTokens)} (${s.kvCacheDtype})`,
        s.fit.kvBytesPerToken === 0 ? 'n/a' : `${int(s.fit.fullLengthSequences)} x ${s.maxModelLen}`,
        i === 0 ? rate(f.cost.usdPerHourEach) : '',
        i === 0 ? `${f.fleet.minCapacity}-${f.fleet.maxCapacity}` : '',
        i === 0 ? usd(f.cost.usdPerMonthMin) : '',
        i === 0 ? usd(f.cost.usdPerMonthMax) : '',
      ]);
    });
  }
  out.push(table(
    ['fleet', 'server', 'instance', 'GPUs', 'weights GiB', 'KV tokens', 'full-length seqs', '$/h each', 'instances', '$/month min', '$/month max'],
    rows,
  ));
  out.push('', `Fleet total: ${usd(plan.totalUsdPerHourMin)}/h to ${usd(plan.totalUsdPerHourMax)}/h, ` +
    `${usd(plan.totalUsdPerMonthMin)} to ${usd(plan.totalUsdPerMonthMax)} per month (GPU instances only).`);
  const implied = plan.fleets.filter((f) => f.impliedTokensPerSecond !== undefined)
    .map((f) => `${f.fleet.name} ${int(f.impliedTokensPerSecond as number)} tok/s per instance`);
  if (implied.length > 0) {
    out.push(`Configured token prices assume sustained output of: ${implied.join(', ')}.`);
  }

  const w = plan.workload;
  const c = plan.comparison;
  out.push('', `Workload: ${int(w.requestsPerMonth)} requests/month x ${int(w.outputTokensPerRequest)} output tokens, ` +
    `${(w.largeShare * 100).toFixed(1)}% routed to the large tier.`);
  const cmpRows: string[][] = [];
  for (const t of c.allLarge.tiers) {
    cmpRows.push(['every request on the large tier', t.name, int(t.requests), int(t.outputTokens), usd(t.tokenUsd), usd(t.floorUsd), usd(t.usd)]);
  }
  for (const t of c.routed.tiers) {
    cmpRows.push(['routed', t.name, int(t.requests), int(t.outputTokens), usd(t.tokenUsd), usd(t.floorUsd), usd(t.usd)]);
  }
  cmpRows.push(['routed', 'router fleet', '', '', '', usd(c.routed.routerUsd), usd(c.routed.routerUsd)]);
  out.push(table(['scenario', 'fleet', 'requests', 'output tokens', 'token cost', 'min-capacity floor', 'cost'], cmpRows));
  out.push('', `Every request on the large tier: ${usd(c.allLarge.totalUsd)}/month. ` +
    `Routed: ${usd(c.routed.totalUsd)}/month. Saving: ${(c.savingsFraction * 100).toFixed(1)}%.`);
  if (c.savingsFraction < 0) out.push(...whyRoutingCostsMore(plan));
  out.push('A tier costs its output tokens at its price per 1k tokens, but never less than its min capacity running all month.');
  if (plan.notes.length > 0) {
    out.push('', 'Notes:', ...plan.notes.map((n) => `  - ${n}`));
  }
  return out.join('\n');
}
