/**
 * The AWS side of preflight: the SDK clients a check may use (injected, so tests hand in mocked
 * ones), one way to call them with a deadline, and one classification of what can go wrong, so a
 * denied permission or an expired session becomes a table row, never a stack trace.
 */
import { ACMClient } from '@aws-sdk/client-acm';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { STSClient } from '@aws-sdk/client-sts';

/** The clients of one region. Cost Explorer answers only in us-east-1 (its endpoint is global). */
export interface RegionalClients {
  readonly sts: STSClient;
  readonly ec2: EC2Client;
  readonly quotas: ServiceQuotasClient;
  readonly secrets: SecretsManagerClient;
  readonly acm: ACMClient;
  readonly cfn: CloudFormationClient;
  readonly ce: CostExplorerClient;
}

/** Hands out the clients of a region. */
export type ClientFactory = (region: string) => RegionalClients;

/**
 * Real clients from the default credential chain (environment, profile, SSO, instance role). Every
 * client shares the first one's credential provider, so an MFA or SSO prompt happens once, and
 * retries stay few: the per-call deadline bounds the wait.
 */
export function defaultClientFactory(): ClientFactory {
  const cache = new Map<string, RegionalClients>();
  let credentials: STSClient['config']['credentials'] | undefined;
  return (region) => {
    let clients = cache.get(region);
    if (!clients) {
      const sts = new STSClient({ region, maxAttempts: 2, ...(credentials ? { credentials } : {}) });
      credentials ??= sts.config.credentials;
      const config = { region, maxAttempts: 2, credentials };
      clients = {
        sts,
        ec2: new EC2Client(config),
        quotas: new ServiceQuotasClient(config),
        secrets: new SecretsManagerClient(config),
        acm: new ACMClient(config),
        cfn: new CloudFormationClient(config),
        ce: new CostExplorerClient(config),
      };
      cache.set(region, clients);
    }
    return clients;
  };
}

/**
 * Every AWS API action preflight calls. `sts:GetCallerIdentity` needs no permission; the others
 * make up the read-only policy `npm run preflight -- --policy` prints.
 */
export const PREFLIGHT_ACTIONS = [
  'sts:GetCallerIdentity',
  'servicequotas:GetServiceQuota',
  'servicequotas:GetAWSDefaultServiceQuota',
  'servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota',
  'ec2:DescribeInstances',
  'ec2:DescribeInstanceTypeOfferings',
  'secretsmanager:DescribeSecret',
  'acm:DescribeCertificate',
  'ce:ListCostAllocationTags',
  'cloudformation:DescribeStacks',
] as const;

/** One IAM action preflight calls. */
export type PreflightAction = (typeof PREFLIGHT_ACTIONS)[number];

/** Why a call failed, in the terms a row uses. */
export type CallFailure = 'denied' | 'credentials' | 'timeout' | 'network' | 'service';

/** A failed AWS call: the action, the kind of failure and the service's error name. */
export class AwsCallError extends Error {
  constructor(
    readonly kind: CallFailure,
    readonly action: PreflightAction,
    /** The SDK's error name, e.g. `ResourceNotFoundException`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AwsCallError';
  }
}

// Error names across the query (STS, CloudFormation, EC2) and JSON protocols.
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'UnauthorizedException', 'AuthorizationError']);
const CREDENTIALS = new Set([
  'CredentialsProviderError', 'TokenProviderError', 'ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId',
  'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidSignatureException', 'AuthFailure', 'IncompleteSignature',
]);
const NETWORK = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** First line of an error message, without the SDK's trailing detail. */
function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

/** Turns whatever a client threw into an {@link AwsCallError}. */
export function classifyError(err: unknown, action: PreflightAction): AwsCallError {
  if (err instanceof AwsCallError) return err;
  const e = (err ?? {}) as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? 'Error';
  const message = firstLine(e.message ?? String(err));
  if (CREDENTIALS.has(name)) return new AwsCallError('credentials', action, name, message);
  if (DENIED.has(name) || (e.$metadata?.httpStatusCode === 403 && !CREDENTIALS.has(name))) {
    return new AwsCallError('denied', action, name, message);
  }
  if ((e.code && NETWORK.has(e.code)) || NETWORK.has(name)) {
    return new AwsCallError('network', action, e.code ?? name, message);
  }
  if (name === 'AbortError' || name === 'TimeoutError') return new AwsCallError('timeout', action, name, message);
  return new AwsCallError('service', action, name, message);
}

/**
 * Runs one SDK call with a deadline: the signal aborts the HTTP request, and the race returns even
 * when a credential provider ignores the signal.
 */
export async function callAws<T>(action: PreflightAction, timeoutMs: number, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new AwsCallError('timeout', action, 'TimeoutError', `no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([send(controller.signal), deadline]);
  } catch (err) {
    throw classifyError(err, action);
  } finally {
    clearTimeout(timer);
  }
}
