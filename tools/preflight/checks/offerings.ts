/**
 * Each fleet's instance type offered in every configured AZ. A fleet's Auto Scaling group spans
 * every private subnet, so a zone that lacks the type fails the launches placed there (and the
 * launch template cannot be used in that zone at all).
 */
import { DescribeInstanceTypeOfferingsCommand } from '@aws-sdk/client-ec2';
import { availabilityZones, fleetSpecs } from '../../../lib/config/fleets';
import { CheckContext } from '../context';
import { CheckResult, row } from '../result';

/** Row name of one fleet's offering check. */
export function offeringCheckName(fleet: string, instanceType: string): string {
  return `${instanceType} in AZs (${fleet})`;
}

/** Zones of the region offering each instance type, from DescribeInstanceTypeOfferings. */
async function offeredZones(ctx: CheckContext, types: readonly string[]): Promise<Map<string, Set<string>>> {
  const ec2 = ctx.clients(ctx.cfg.region).ec2;
  const zones = new Map<string, Set<string>>(types.map((t) => [t, new Set<string>()]));
  let NextToken: string | undefined;
  do {
    const page = await ctx.call('ec2:DescribeInstanceTypeOfferings', (abortSignal) => ec2.send(new DescribeInstanceTypeOfferingsCommand({
      LocationType: 'availability-zone',
      Filters: [{ Name: 'instance-type', Values: [...types] }],
      NextToken,
    }), { abortSignal }));
    for (const o of page.InstanceTypeOfferings ?? []) {
      if (o.InstanceType && o.Location) zones.get(o.InstanceType)?.add(o.Location);
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return zones;
}

/** One row per fleet: its type offered in every configured zone. */
export async function checkOfferings(ctx: CheckContext): Promise<CheckResult[]> {
  const fleets = fleetSpecs(ctx.cfg);
  const azs = availabilityZones(ctx.cfg);
  const types = [...new Set(fleets.map((f) => f.instanceType))];
  const zones = await offeredZones(ctx, types);

  // Zones that offer every fleet's type: what network.availabilityZones could be instead.
  const everywhere = [...(zones.get(types[0]) ?? [])].filter((az) => types.every((t) => zones.get(t)?.has(az))).sort();
  const { azCount } = ctx.cfg.network;
  const fix = everywhere.length >= azCount
    ? `-c network.availabilityZones=${everywhere.slice(0, azCount).join(',')} (zones offering every fleet's type)${ctx.cfg.network.vpcId ? ', with private subnets in those zones' : ''}`
    : `only ${everywhere.length} zone(s) offer every fleet's type (${everywhere.join(', ') || 'none'}): lower network.azCount to ${everywhere.length} or choose another instance type or region`;

  return fleets.map((f) => {
    const check = offeringCheckName(f.name, f.instanceType);
    const offered = zones.get(f.instanceType) ?? new Set<string>();
    const missing = azs.filter((az) => !offered.has(az));
    if (missing.length === 0) return row(check, 'PASS', `offered in ${azs.join(', ')}`);
    const elsewhere = [...offered].sort();
    return row(check, 'BLOCK', `not offered in ${missing.join(', ')}${elsewhere.length ? `; offered in ${elsewhere.join(', ')}` : `; not offered anywhere in ${ctx.cfg.region}`}`, fix);
  });
}
