/**
 * Every temp file the tests make (their own and the synth dirs CDK makes for an App without an
 * outdir) goes under one directory, which the teardown removes. Workers inherit TMPDIR.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'llm-tier-router-tests-'));
  process.env.LLM_TIER_ROUTER_TEST_TMP = dir;
  process.env.TMPDIR = dir;
}
