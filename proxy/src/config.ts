/**
 * The proxy's view of its configuration: the shared document schema (`contracts/proxy-config.ts`)
 * plus what only the running proxy knows, such as where its shipped exemplar prompts are.
 */
import * as path from 'node:path';
import type { ProxyConfig } from '../../contracts/proxy-config';

export * from '../../contracts/proxy-config';

/** Exemplar prompts shipped with the proxy: `<bundle or src dir>/../data/exemplars.json`. */
export const DEFAULT_EXEMPLARS_FILE = path.resolve(__dirname, '..', 'data', 'exemplars.json');

/** The exemplar file in effect: the configured one, else the shipped one. */
export function exemplarsFile(config: ProxyConfig): string {
  return config.router.exemplarsFile ?? DEFAULT_EXEMPLARS_FILE;
}
