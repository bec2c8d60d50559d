/**
 * A mocked AWS account for preflight: every client class is stubbed with aws-sdk-client-mock, and
 * `greenAccount` answers as an account ready for a prod deploy would. Each test then breaks one
 * thing. The config comes from the repository's cdk.json through the real loader.
 */
import { ACMClient, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CostExplorerClient, ListCostAllocationTagsCommand } from '@aws-sdk/client-cost-explorer';
import { DescribeInstancesCommand, DescribeInstanceTypeOfferingsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ListRequestedServiceQuotaChangeHistoryByQuotaCommand,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { EnvConfig } from '../../lib/config/schema';
import { loadEnvConfig } from '../../lib/config/load';
import { cliContext } from '../../tools/plan';
import { defaultClientFactory } from '../../tools/preflight/aws';
import type { CommandOutcome, CommandRunner, PreflightDeps } from '../../tools/preflight/context';

// The SDK's notice about its future Node 22 floor is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** The account every mocked call answers for. */
export const ACCOUNT = '111122223333';
/** An issued certificate of that account in us-east-1. */
export const CERT_ARN = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/4f1c2a9e-6b7d-4e0a-9c3b-2d8e5f7a1b60`;

/** The stubs of every client class preflight uses. */
export const mocks = {
  sts: mockClient(STSClient),
  ec2: mockClient(EC2Client),
  quotas: mockClient(ServiceQuotasClient),
  secrets: mockClient(SecretsManagerClient),
  acm: mockClient(ACMClient),
  cfn: mockClient(CloudFormationClient),
  ce: mockClient(CostExplorerClient),
};

/** An environment of cdk.json with `-c key=value` style overrides. */
export function envConfig(env: string, overrides: Record<string, string> = {}): EnvConfig {
  const argv = Object.entries({ env, ...overrides }).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  return loadEnvConfig(cliContext(argv));
}

/** The prod config with a real-looking certificate of {@link ACCOUNT}, plus overrides. */
export function prodConfig(overrides: Record<string, string> = {}): EnvConfig {
  return envConfig('prod', { 'proxy.certificateArn': CERT_ARN, ...overrides });
}

/** A service error as the SDK throws it. */
export function awsError(name: string, message: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1f'];

/** Resets every stub and answers as an account ready for a prod deploy in us-east-1. */
export function greenAccount(): void {
  for (const m of Object.values(mocks)) m.reset();
  mocks.sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Deployer/alice`, UserId: 'AROA:alice' });
  mocks.quotas.on(GetServiceQuotaCommand).resolves({ Quota: { QuotaCode: 'L-DB2E81BA', Value: 256 } });
  mocks.quotas.on(GetAWSDefaultServiceQuotaCommand).resolves({ Quota: { QuotaCode: 'L-DB2E81BA', Value: 64 } });
  mocks.quotas.on(ListRequestedServiceQuotaChangeHistoryByQuotaCommand).resolves({ RequestedQuotas: [] });
  mocks.ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  mocks.ec2.on(DescribeInstanceTypeOfferingsCommand).callsFake((input: { Filters: { Values: string[] }[] }) => ({
    InstanceTypeOfferings: input.Filters[0].Values.flatMap((type) => ZONES.map((Location) => ({ InstanceType: type, Location, LocationType: 'availability-zone' }))),
  }));
  mocks.secrets.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => ({
    Name: input.SecretId,
    ARN: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${input.SecretId}-AbCdEf`,
    LastChangedDate: new Date('2026-01-10T00:00:00Z'),
    VersionIdsToStages: { 'v-1': ['AWSCURRENT'] },
  }));
  mocks.acm.on(DescribeCertificateCommand).resolves({
    Certificate: {
      CertificateArn: CERT_ARN,
      DomainName: 'llm.example.com',
      SubjectAlternativeNames: ['llm.example.com'],
      Status: 'ISSUED',
      Type: 'AMAZON_ISSUED',
      NotAfter: new Date('2027-03-01T00:00:00Z'),
    },
  });
  mocks.ce.on(ListCostAllocationTagsCommand).resolves({ CostAllocationTags: [{ TagKey: 'CostScope', Type: 'UserDefined', Status: 'Active' }] });
  mocks.cfn.on(DescribeStacksCommand).resolves({
    Stacks: [{ StackName: 'CDKToolkit', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '29' }] }],
  });
}

/** `docker info` as a running engine prints it. */
export const DOCKER_OK: CommandOutcome = { code: 0, stdout: 'Server:\n Server Version: 27.3.1\n Architecture: x86_64\n', stderr: '' };

/** A runner that answers `docker info` with `docker`, and records what it ran. */
export function fakeRunner(docker: CommandOutcome = DOCKER_OK): CommandRunner & { commands: string[] } {
  const commands: string[] = [];
  const run = async (command: string, args: readonly string[]) => {
    commands.push([command, ...args].join(' '));
    return docker;
  };
  return Object.assign(run, { commands });
}

/** Dependencies for a mocked run: the real client factory (its clients are stubbed), a fake runner. */
export function testDeps(parts: Partial<PreflightDeps> = {}): PreflightDeps {
  return {
    clients: defaultClientFactory(),
    run: fakeRunner(),
    env: {},
    timeoutMs: 2_000,
    requiredBootstrapVersion: async () => 6,
    ...parts,
  };
}
