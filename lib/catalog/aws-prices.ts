/**
 * List prices of the parts of an environment that are not GPU instances, as estimates for the
 * hourly spend metric: us-east-1, on-demand, USD. Sources: the AWS pricing pages for Fargate
 * (aws.amazon.com/fargate/pricing), Elastic Load Balancing (aws.amazon.com/elasticloadbalancing/pricing)
 * and Amazon VPC (aws.amazon.com/vpc/pricing: NAT gateway, public IPv4 address), checked 2026-12-06
 * through published summaries of those pages. Usage charges (ALB LCUs, NAT data processing, data
 * transfer, CloudWatch, logs, Lambda) are not included.
 */

/** Fargate, Linux/x86, per vCPU per hour. */
export const FARGATE_X86_USD_PER_VCPU_HOUR = 0.04048;
/** Fargate, Linux/x86, per GB of task memory per hour. */
export const FARGATE_X86_USD_PER_GB_HOUR = 0.004445;
/** Application Load Balancer, per load balancer per hour (LCU charges excluded). */
export const ALB_USD_PER_HOUR = 0.0225;
/** NAT gateway, per gateway per hour (data processing excluded). */
export const NAT_GATEWAY_USD_PER_HOUR = 0.045;
/** Public IPv4 address, per address per hour (internet-facing ALB nodes, NAT gateway Elastic IPs). */
export const PUBLIC_IPV4_USD_PER_HOUR = 0.005;

/** USD per hour of one Fargate task of `cpuUnits` (1024 = 1 vCPU) and `memoryMiB` (1024 = 1 GB). */
export function fargateTaskUsdPerHour(cpuUnits: number, memoryMiB: number): number {
  return (cpuUnits / 1024) * FARGATE_X86_USD_PER_VCPU_HOUR + (memoryMiB / 1024) * FARGATE_X86_USD_PER_GB_HOUR;
}

/** The always-on network parts of an environment. */
export interface FixedNetworkParts {
  /** Application load balancers (the public one and the internal one). */
  readonly loadBalancers: number;
  /** NAT gateways the environment created (0 in an existing VPC, whose gateways it does not own). */
  readonly natGateways: number;
  /** Public IPv4 addresses: one per AZ of the internet-facing ALB, one per NAT gateway. */
  readonly publicIpv4Addresses: number;
}

/** USD per hour of the load balancers, NAT gateways and public IPv4 addresses, whatever the traffic. */
export function fixedNetworkUsdPerHour(parts: FixedNetworkParts): number {
  return parts.loadBalancers * ALB_USD_PER_HOUR
    + parts.natGateways * NAT_GATEWAY_USD_PER_HOUR
    + parts.publicIpv4Addresses * PUBLIC_IPV4_USD_PER_HOUR;
}
