/**
 * gp3 root volumes: the limits EC2 enforces and what provisioned performance costs. Limits as the
 * EC2 API (LaunchTemplateEbsBlockDeviceRequest) and aws-cdk-lib 2.276's own checks state them;
 * prices are the us-east-1 list prices.
 */
import { HOURS_PER_MONTH } from './instances';

/** What a gp3 volume accepts. */
export const GP3_LIMITS = {
  /** Included in the price of every gp3 volume; also the minimum. */
  baselineIops: 3_000,
  maxIops: 80_000,
  /** Provisioned IOPS per GiB of volume size, at most. */
  maxIopsPerGiB: 500,
  /** Included in the price of every gp3 volume; also the minimum. */
  baselineThroughputMiBps: 125,
  maxThroughputMiBps: 2_000,
  /** Provisioned throughput per provisioned IOPS, at most (MiB/s per IOPS). */
  maxThroughputPerIops: 0.25,
} as const;

/** us-east-1 gp3 prices above the free baseline (billed per second while the volume exists). */
export const GP3_PRICES = {
  /** USD per provisioned MiB/s-month above 125 MiB/s. */
  usdPerMiBpsMonth: 0.04,
  /** USD per provisioned IOPS-month above 3,000. */
  usdPerIopsMonth: 0.005,
} as const;

/** USD per hour one gp3 volume costs for performance above the free baseline (storage excluded). */
export function gp3PerformanceUsdPerHour(throughputMiBps: number, iops: number): number {
  const throughput = Math.max(0, throughputMiBps - GP3_LIMITS.baselineThroughputMiBps) * GP3_PRICES.usdPerMiBpsMonth;
  const io = Math.max(0, iops - GP3_LIMITS.baselineIops) * GP3_PRICES.usdPerIopsMonth;
  return (throughput + io) / HOURS_PER_MONTH;
}

/**
 * Problems of one gp3 volume setting that single-field ranges cannot see, as
 * `[field, message]` pairs: throughput at most IOPS x 0.25, IOPS at most 500 per GiB.
 */
export function gp3Problems(sizeGiB: number, throughputMiBps: number, iops: number): [string, string][] {
  const problems: [string, string][] = [];
  const maxThroughput = iops * GP3_LIMITS.maxThroughputPerIops;
  if (throughputMiBps > maxThroughput) {
    problems.push(['rootVolumeThroughputMiBps', `got ${throughputMiBps}, expected <= rootVolumeIops x ${GP3_LIMITS.maxThroughputPerIops} (${maxThroughput} with ${iops} IOPS; raise rootVolumeIops to ${Math.ceil(throughputMiBps / GP3_LIMITS.maxThroughputPerIops)})`]);
  }
  const maxIops = sizeGiB * GP3_LIMITS.maxIopsPerGiB;
  if (iops > maxIops) {
    problems.push(['rootVolumeIops', `got ${iops}, expected <= ${GP3_LIMITS.maxIopsPerGiB} x rootVolumeGiB (${maxIops} for ${sizeGiB} GiB)`]);
  }
  return problems;
}
