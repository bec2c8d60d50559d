/**
 * One preflight run: the credentials row first (every AWS check needs the account), then every
 * other check at once, each under its own guard so one failure never hides the others.
 */
import type { EnvConfig } from '../../lib/config/schema';
import { checkBootstrap } from './checks/bootstrap';
import { CERTIFICATE_CHECK, checkCertificate } from './checks/certificate';
import { checkCostTag, COST_TAG_CHECK } from './checks/cost-tag';
import { checkDocker, DOCKER_CHECK } from './checks/docker';
import { checkIdentity } from './checks/identity';
import { checkOfferings } from './checks/offerings';
import { checkQuotas } from './checks/quota';
import { API_KEYS_SECRET_CHECK, checkApiKeysSecret, checkHuggingFaceSecret, HF_SECRET_CHECK } from './checks/secrets';
import { checkContext, guarded, PreflightDeps } from './context';
import { CheckResult, row } from './result';

/** Name of the row that stands for the AWS checks skipped without credentials. */
export const SKIPPED_AWS_CHECK = 'Account checks';

/** Runs every check against the environment `cfg` and returns the rows in table order. */
export async function runPreflight(cfg: EnvConfig, deps: PreflightDeps): Promise<CheckResult[]> {
  // Started first: the Docker check and the bootstrap-version probe are local and run beside AWS.
  const docker = guarded(DOCKER_CHECK, () => checkDocker(deps.run, deps.env));
  const version = deps.requiredBootstrapVersion();
  version.catch(() => undefined);

  const identity = await checkIdentity(cfg, deps);
  if (identity.account === undefined) {
    return [
      identity.result,
      row(SKIPPED_AWS_CHECK, 'SKIP', 'quotas, instance offerings, secrets, certificate, cost tag and bootstrap need working credentials'),
      ...(await docker),
    ];
  }

  const ctx = checkContext(cfg, identity.account, { ...deps, requiredBootstrapVersion: () => version });
  const groups = await Promise.all([
    checkQuotas(ctx),
    guarded('Instance types in AZs', () => checkOfferings(ctx)),
    guarded(HF_SECRET_CHECK, () => checkHuggingFaceSecret(ctx)),
    guarded(API_KEYS_SECRET_CHECK, () => checkApiKeysSecret(ctx)),
    guarded(CERTIFICATE_CHECK, () => checkCertificate(ctx)),
    guarded(COST_TAG_CHECK, () => checkCostTag(ctx)),
    guarded('CDK bootstrap', () => checkBootstrap(ctx)),
    docker,
  ]);
  return [identity.result, ...groups.flat()];
}
