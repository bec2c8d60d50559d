/**
 * The read-only IAM policy preflight needs for one environment, scoped to its secrets, certificate
 * and bootstrap stacks where the action supports resource-level permissions.
 */
import type { EnvConfig } from '../../lib/config/schema';
import { PreflightAction } from './aws';
import { TOOLKIT_STACK_NAME } from './checks/bootstrap';
import { targetRegions } from './checks/regions';

/** One IAM policy statement. */
export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: PreflightAction[];
  readonly Resource: string | string[];
}

/** The partition of a region (aws, aws-cn, aws-us-gov). */
function partition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The policy document for the caller of `npm run preflight -- -c env=<name>`. */
export function preflightPolicy(cfg: EnvConfig): { Version: '2012-10-17'; Statement: PolicyStatement[] } {
  const p = partition(cfg.region);
  const secretNames = [cfg.vllm.huggingFaceTokenSecretName, cfg.proxy.apiKeysSecretName].filter((n): n is string => !!n);
  const statements: PolicyStatement[] = [
    {
      Sid: 'QuotasAndCapacity',
      Effect: 'Allow',
      // These read actions support no resource-level permissions.
      Action: ['servicequotas:GetServiceQuota', 'servicequotas:GetAWSDefaultServiceQuota', 'servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota', 'ec2:DescribeInstances', 'ec2:DescribeInstanceTypeOfferings'],
      Resource: '*',
    },
    {
      Sid: 'DescribeNamedSecrets',
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret'],
      // Secrets Manager appends six random characters to a secret's ARN.
      Resource: secretNames.map((n) => `arn:${p}:secretsmanager:${cfg.region}:*:secret:${n}-??????`),
    },
    {
      Sid: 'DescribeBootstrapStacks',
      Effect: 'Allow',
      Action: ['cloudformation:DescribeStacks'],
      Resource: targetRegions(cfg).map(({ region }) => `arn:${partition(region)}:cloudformation:${region}:*:stack/${TOOLKIT_STACK_NAME}/*`),
    },
  ];
  if (cfg.proxy.certificateArn) {
    statements.push({ Sid: 'DescribeCertificate', Effect: 'Allow', Action: ['acm:DescribeCertificate'], Resource: cfg.proxy.certificateArn });
  }
  if (cfg.alarms.costGuardEnabled) {
    statements.push({ Sid: 'CostAllocationTags', Effect: 'Allow', Action: ['ce:ListCostAllocationTags'], Resource: '*' });
  }
  return { Version: '2012-10-17', Statement: statements };
}
