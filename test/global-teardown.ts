/** Removes the directory that held the run's temp files (see global-setup.ts). */
import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const dir = process.env.LLM_TIER_ROUTER_TEST_TMP;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
