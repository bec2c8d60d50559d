/**
 * First row: credentials resolve and belong to the configured account. Every other AWS check needs
 * it, so the run stops asking AWS when it fails.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { EnvConfig } from '../../../lib/config/schema';
import { AwsCallError, callAws } from '../aws';
import { failedCall, PreflightDeps } from '../context';
import { CheckResult, row } from '../result';
import { targetRegions } from './regions';

/** Name of the credentials row. */
export const IDENTITY_CHECK = 'AWS credentials';

const CREDENTIAL_FIX = 'sign in: aws sso login --profile <name> and export AWS_PROFILE=<name>, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)';

/** The identity row and, when credentials work, the caller's account. */
export async function checkIdentity(cfg: EnvConfig, deps: PreflightDeps): Promise<{ result: CheckResult; account?: string }> {
  const regions = targetRegions(cfg).map((r) => `${r.region} (${r.purpose})`).join(', ');
  try {
    const sts = deps.clients(cfg.region).sts;
    const id = await callAws('sts:GetCallerIdentity', deps.timeoutMs, (abortSignal) => sts.send(new GetCallerIdentityCommand({}), { abortSignal }));
    const account = id.Account ?? '';
    if (cfg.account && cfg.account !== account) {
      return {
        result: row(IDENTITY_CHECK, 'BLOCK', `config account is ${cfg.account} but the credentials are for ${account} (${id.Arn})`, `use credentials of account ${cfg.account}, or set -c account=${account}`),
      };
    }
    return { result: row(IDENTITY_CHECK, 'PASS', `account ${account} as ${id.Arn}; regions ${regions}`), account };
  } catch (err) {
    const e = err instanceof AwsCallError ? err : undefined;
    if (e?.kind === 'credentials') {
      const what = e.code === 'CredentialsProviderError' || e.code === 'TokenProviderError'
        ? `no usable credentials found (${e.message})`
        : `credentials rejected: ${e.code} (${e.message})`;
      const extra = e.code === 'InvalidClientTokenId' ? `; or ${cfg.region} is an opt-in region not enabled for the account` : '';
      return { result: row(IDENTITY_CHECK, 'BLOCK', what, `${CREDENTIAL_FIX}${extra}`) };
    }
    if (e) {
      const failed = failedCall(IDENTITY_CHECK, e);
      return { result: { ...failed, status: 'BLOCK', detail: `cannot reach STS in ${cfg.region}: ${failed.detail}` } };
    }
    return { result: row(IDENTITY_CHECK, 'BLOCK', `cannot resolve credentials: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, CREDENTIAL_FIX) };
  }
}
