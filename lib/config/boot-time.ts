/**
 * How long a GPU instance takes from launch until every vLLM server on it answers /health, as a
 * formula of what it downloads and loads. It sizes each fleet's default health-check grace, which
 * is also the rolling update's wait for the instance's signal and the scaling policies' warm-up.
 *
 * Every rate below is an estimate, not a measurement made by this project: the formula keeps them
 * visible so a measured boot (the boot log timestamps each step) can replace them.
 */
import { weightBytes } from '../catalog/fit';
import { instanceSpec } from '../catalog/instances';
import { modelSpec, WeightFormat } from '../catalog/models';

/** Bytes in one MiB. */
const MIB = 1024 ** 2;

/** The inputs of the boot-time formula that do not come from config. All estimates. */
export const BOOT_ESTIMATES = {
  /** EC2 launch to user data running on the DLAMI: firmware, kernel, cloud-init, docker (estimate). */
  instanceStartSeconds: 90,
  /** Compressed size of the pinned `vllm/vllm-openai` image (estimate: ~10 GB for 0.1x releases). */
  imageCompressedBytes: 10e9,
  /** Its extracted layers, written to the root volume (estimate: about twice the compressed size). */
  imageExtractedBytes: 20e9,
  /** Docker Hub download through the NAT gateway (estimate: 60 MB/s for one instance). */
  registryBytesPerSecond: 60e6,
  /**
   * Layer decompression (estimate: 250 MB/s): extraction runs at the slower of this and the root
   * volume's throughput, so the default 125 MiB/s makes the disk the bottleneck.
   */
  decompressBytesPerSecond: 250e6,
  /** Hugging Face download through the NAT gateway (estimate: 80 MB/s for one instance). */
  hubBytesPerSecond: 80e6,
  /** Reading safetensors from instance NVMe into GPU memory (estimate: 1 GB/s). */
  nvmeReadBytesPerSecond: 1e9,
  /** Per server: engine start, memory profiling, torch.compile and CUDA graph capture (estimate). */
  engineStartSeconds: 120,
  /** Margin over the sum for a slow mirror, throttling and retries (estimate). */
  safetyFactor: 1.5,
} as const;

/** The estimates as plain numbers, for callers that try other figures. */
export type BootRates = { readonly [K in keyof typeof BOOT_ESTIMATES]: number };

/** One model an instance downloads and loads. */
export interface BootServer {
  readonly model: string;
  readonly weightFormat: WeightFormat;
}

/** What the instance boots. */
export interface BootInput {
  readonly instanceType: string;
  /** Servers in start order; they load one after the other. */
  readonly servers: readonly BootServer[];
  /** Provisioned throughput of the gp3 root volume. */
  readonly rootVolumeThroughputMiBps: number;
  /**
   * Where the boot script caches the weights.
   * @default - instance NVMe when the type has it, else the root volume
   */
  readonly weightsOnNvme?: boolean;
}

/** The boot estimate, step by step, in seconds. */
export interface BootEstimate {
  readonly instanceStart: number;
  readonly imageDownload: number;
  readonly imageExtract: number;
  readonly weightsDownload: number;
  readonly weightsLoad: number;
  readonly engineStart: number;
  /** Sum of the steps. */
  readonly total: number;
  /** `total` x the safety factor, rounded up to a whole minute: the default health-check grace. */
  readonly graceSeconds: number;
}

/**
 * The boot of one instance. The image pull is counted as download then extraction (docker overlaps
 * them partly, so this errs long). Weights go to instance NVMe when the type has it (the boot script
 * caches them there), else to the root volume, whose throughput then also caps download and load.
 */
export function estimateBoot(input: BootInput, e: BootRates = BOOT_ESTIMATES): BootEstimate {
  const disk = input.rootVolumeThroughputMiBps * MIB;
  const nvme = input.weightsOnNvme ?? instanceSpec(input.instanceType).nvmeGB > 0;
  const weights = input.servers.reduce((sum, s) => sum + weightBytes(modelSpec(s.model), s.weightFormat), 0);
  const steps = {
    instanceStart: e.instanceStartSeconds,
    imageDownload: e.imageCompressedBytes / e.registryBytesPerSecond,
    imageExtract: e.imageExtractedBytes / Math.min(disk, e.decompressBytesPerSecond),
    weightsDownload: weights / (nvme ? e.hubBytesPerSecond : Math.min(e.hubBytesPerSecond, disk)),
    weightsLoad: weights / (nvme ? e.nvmeReadBytesPerSecond : disk),
    engineStart: e.engineStartSeconds * input.servers.length,
  };
  const total = Object.values(steps).reduce((a, b) => a + b, 0);
  return { ...steps, total, graceSeconds: Math.ceil((total * e.safetyFactor) / 60) * 60 };
}
