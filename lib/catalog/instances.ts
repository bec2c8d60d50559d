/**
 * GPU instance catalog: us-east-1 Linux on-demand prices and the GPU memory the EC2 API reports as
 * usable (shared/docs/facts.md, "GPU instances"). Size vLLM memory against `gpuMemoryMiB`, never
 * against the marketing figure.
 */

/** One EC2 GPU instance type. */
export interface InstanceSpec {
  /** Number of GPUs. */
  readonly gpus: number;
  /** GPU model name. */
  readonly gpu: 'L40S' | 'A10G' | 'L4' | 'H100' | 'A100';
  /** Usable memory per GPU in MiB, as DescribeInstanceTypes reports it. */
  readonly gpuMemoryMiB: number;
  /** vCPUs. */
  readonly vcpu: number;
  /** Instance memory in GiB. */
  readonly ramGiB: number;
  /** Local NVMe instance storage in GB (0 when none). */
  readonly nvmeGB: number;
  /** On-demand USD per hour, us-east-1 Linux. */
  readonly usdPerHour: number;
}

// Usable MiB per GPU from the EC2 API: L40S 45,776; A10G and L4 22,888. H100 (80 GB) reports
// 81,559 MiB and A100 40 GB reports 40,960 MiB.
const L40S = { gpu: 'L40S', gpuMemoryMiB: 45_776 } as const;
const A10G = { gpu: 'A10G', gpuMemoryMiB: 22_888 } as const;
const L4 = { gpu: 'L4', gpuMemoryMiB: 22_888 } as const;
const H100 = { gpu: 'H100', gpuMemoryMiB: 81_559 } as const;
const A100 = { gpu: 'A100', gpuMemoryMiB: 40_960 } as const;

/** Every instance type the project can deploy a fleet on. */
export const INSTANCE_CATALOG: Readonly<Record<string, InstanceSpec>> = {
  'g6e.xlarge': { ...L40S, gpus: 1, vcpu: 4, ramGiB: 32, nvmeGB: 250, usdPerHour: 1.861 },
  'g6e.2xlarge': { ...L40S, gpus: 1, vcpu: 8, ramGiB: 64, nvmeGB: 450, usdPerHour: 2.24208 },
  'g6e.4xlarge': { ...L40S, gpus: 1, vcpu: 16, ramGiB: 128, nvmeGB: 600, usdPerHour: 3.00424 },
  'g6e.8xlarge': { ...L40S, gpus: 1, vcpu: 32, ramGiB: 256, nvmeGB: 900, usdPerHour: 4.52856 },
  'g6e.12xlarge': { ...L40S, gpus: 4, vcpu: 48, ramGiB: 384, nvmeGB: 3800, usdPerHour: 10.49264 },
  'g6e.16xlarge': { ...L40S, gpus: 1, vcpu: 64, ramGiB: 512, nvmeGB: 1900, usdPerHour: 7.57719 },
  'g6e.24xlarge': { ...L40S, gpus: 4, vcpu: 96, ramGiB: 768, nvmeGB: 3800, usdPerHour: 15.06559 },
  'g6e.48xlarge': { ...L40S, gpus: 8, vcpu: 192, ramGiB: 1536, nvmeGB: 7600, usdPerHour: 30.13118 },
  'g5.xlarge': { ...A10G, gpus: 1, vcpu: 4, ramGiB: 16, nvmeGB: 250, usdPerHour: 1.006 },
  'g5.2xlarge': { ...A10G, gpus: 1, vcpu: 8, ramGiB: 32, nvmeGB: 450, usdPerHour: 1.212 },
  'g5.12xlarge': { ...A10G, gpus: 4, vcpu: 48, ramGiB: 192, nvmeGB: 3800, usdPerHour: 5.672 },
  'g6.xlarge': { ...L4, gpus: 1, vcpu: 4, ramGiB: 16, nvmeGB: 250, usdPerHour: 0.8048 },
  'g6.12xlarge': { ...L4, gpus: 4, vcpu: 48, ramGiB: 192, nvmeGB: 3760, usdPerHour: 4.6016 },
  'p5.4xlarge': { ...H100, gpus: 1, vcpu: 16, ramGiB: 256, nvmeGB: 3800, usdPerHour: 6.88 },
  'p4d.24xlarge': { ...A100, gpus: 8, vcpu: 96, ramGiB: 1152, nvmeGB: 8000, usdPerHour: 21.957642 },
  'p5.48xlarge': { ...H100, gpus: 8, vcpu: 192, ramGiB: 2048, nvmeGB: 30400, usdPerHour: 55.04 },
};

/** Names of every catalogued instance type, in catalog order. */
export const INSTANCE_TYPES: readonly string[] = Object.keys(INSTANCE_CATALOG);

/** Hours in an average month (8,760 / 12), the figure AWS pricing pages use. */
export const HOURS_PER_MONTH = 730;

/** Looks up an instance type; throws when it is not catalogued (config validation rejects it first). */
export function instanceSpec(type: string): InstanceSpec {
  const spec = INSTANCE_CATALOG[type];
  if (!spec) {
    throw new Error(`instance type: got "${type}", expected one of ${INSTANCE_TYPES.join(', ')}`);
  }
  return spec;
}
