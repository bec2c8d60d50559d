/**
 * The figures the template cannot give: how fast each model serves on its instance and how long an
 * instance takes from launch to a healthy vLLM server. Every figure is a stated assumption with its
 * reasoning; the command line overrides each one per fleet (`--tps`, `--boot`).
 */
import { MODEL_CATALOG, WeightFormat } from '../../lib/catalog/models';
import { weightBytes } from '../../lib/catalog/fit';
import { estimateBoot } from '../../lib/config/boot-time';
import type { FleetModel, ServerModel } from './model';

/** How one generative model serves on one instance. */
export interface ModelPerformance {
  /** Output tokens/s of one sequence running alone. */
  readonly singleStreamTps: number;
  /** Output tokens/s of the whole instance with `referenceSeqs` sequences running. */
  readonly fullBatchTps: number;
  /** The batch size `fullBatchTps` was stated for (the server's default max-num-seqs). */
  readonly referenceSeqs: number;
  /** Prompt tokens/s of prefill. */
  readonly prefillTps: number;
}

/**
 * Decode speed on one L40S (864 GB/s). A decode step reads every weight once, so one sequence runs
 * at no more than bandwidth / weight bytes: ~150 tok/s for the 8B AWQ build (5.7 GB) and ~23 tok/s
 * for the 70B AWQ build (39 GB); the single-stream figures take ~75-85% of that. The full-batch
 * figures are the ones the tier prices in lib/config/defaults.ts assume (~2,000 tok/s for the 8B at
 * 128 sequences, ~150 tok/s for the 70B at 16). Prefill runs compute-bound, tens of times faster
 * per token than decode.
 */
export const MODEL_PERFORMANCE: Readonly<Record<string, ModelPerformance>> = {
  'llama-3.1-8b-instruct': { singleStreamTps: 110, fullBatchTps: 2000, referenceSeqs: 128, prefillTps: 8000 },
  'llama-3.1-70b-instruct': { singleStreamTps: 20, fullBatchTps: 150, referenceSeqs: 16, prefillTps: 1000 },
};

/**
 * Router instances answer a scoring request with two servers in parallel: one rating of at most
 * 2 tokens after a prefill of up to 2,048 characters on a 1.5B model (~0.1 s), and one embedding
 * (~0.03 s). Each server's running gauge counts its share, and the router publishes their sum.
 */
export const ROUTER_SECONDS_PER_REQUEST: Readonly<Record<string, number>> = { scorer: 0.1, embedding: 0.03 };

/** Seconds from launch until the Auto Scaling group puts the instance InService (no lifecycle hooks). */
export const IN_SERVICE_AFTER_LAUNCH_SECONDS = 45;

/** Catalog name, weight format and weight bytes of a server's model, found by its Hugging Face id. */
export function catalogModel(server: ServerModel): { name: string; format: WeightFormat; bytes: number } | undefined {
  for (const [name, spec] of Object.entries(MODEL_CATALOG)) {
    for (const [format, hubId] of Object.entries(spec.builds)) {
      if (hubId === server.hubModelId) return { name, format: format as WeightFormat, bytes: weightBytes(spec, format as WeightFormat) };
    }
  }
  return undefined;
}

/**
 * Default boot time of a fleet (launch to every server healthy), seconds, and how it was built: the
 * project's own boot estimate (lib/config/boot-time.ts, the formula that sizes each fleet's default
 * health-check grace as 1.5 times it) for the template's instance type, the models its servers load
 * and its root volume's throughput. Every rate in it is an estimate; `--boot` replaces the result.
 */
export function defaultBootSeconds(fleet: FleetModel): { seconds: number; parts: string } | undefined {
  const servers: Array<{ model: string; weightFormat: WeightFormat }> = [];
  for (const s of fleet.servers) {
    const m = catalogModel(s);
    if (!m) return undefined;
    servers.push({ model: m.name, weightFormat: m.format });
  }
  const e = estimateBoot({
    instanceType: fleet.instanceType,
    servers,
    rootVolumeThroughputMiBps: fleet.rootVolumeThroughputMiBps ?? 125,
  });
  const r = (x: number) => Math.round(x);
  return {
    seconds: r(e.total),
    parts: `start ${r(e.instanceStart)} s + image ${r(e.imageDownload + e.imageExtract)} s + weights ${r(e.weightsDownload)} s + load ${r(e.weightsLoad)} s + engine ${r(e.engineStart)} s (lib/config/boot-time.ts)`,
  };
}
