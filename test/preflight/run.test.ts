import { DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListCostAllocationTagsCommand } from '@aws-sdk/client-cost-explorer';
import { DescribeInstancesCommand, DescribeInstanceTypeOfferingsCommand } from '@aws-sdk/client-ec2';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ListRequestedServiceQuotaChangeHistoryByQuotaCommand,
} from '@aws-sdk/client-service-quotas';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { callAws } from '../../tools/preflight/aws';
import { exitCode, CheckResult, Status } from '../../tools/preflight/result';
import { runPreflight } from '../../tools/preflight/run';
import { ACCOUNT, awsError, CERT_ARN, envConfig, fakeRunner, greenAccount, mocks, prodConfig, testDeps } from './fixture';

/** The one row named `check`. */
function rowOf(results: readonly CheckResult[], check: string): CheckResult {
  const found = results.filter((r) => r.check === check);
  expect(found).toHaveLength(1);
  return found[0];
}

function statuses(results: readonly CheckResult[]): Record<string, Status> {
  return Object.fromEntries(results.map((r) => [r.check, r.status]));
}

beforeEach(() => greenAccount());

describe('preflight against a ready account', () => {
  it('passes every row of prod and exits 0', async () => {
    const results = await runPreflight(prodConfig(), testDeps());
    expect(statuses(results)).toEqual({
      'AWS credentials': 'PASS',
      'vCPU quota L-DB2E81BA': 'PASS',
      'g6e.xlarge in AZs (router)': 'PASS',
      'g6e.xlarge in AZs (small)': 'PASS',
      'g6e.4xlarge in AZs (large)': 'PASS',
      'Hugging Face token secret': 'PASS',
      'API keys secret': 'SKIP',
      'TLS certificate': 'PASS',
      'Cost-allocation tag': 'PASS',
      'CDK bootstrap (us-east-1)': 'PASS',
      'Docker for the image build': 'PASS',
    });
    expect(results.every((r) => r.fix === '' || r.status !== 'PASS')).toBe(true);
    expect(exitCode(results)).toBe(0);
  });

  it('sums maxCapacity x vCPUs over every fleet and reports applied and default quota', async () => {
    const quota = rowOf(await runPreflight(prodConfig(), testDeps()), 'vCPU quota L-DB2E81BA');
    // router 4 x 4 + small 8 x 4 + large 4 x 16 = 112; minimum router 2x4 + small 4x4 + large 2x16 = 56.
    expect(quota.detail).toContain('quota 256 vCPU (applied; AWS default 64)');
    expect(quota.detail).toContain('fleets need 112 at maxCapacity (router 4x4 + small 8x4 + large 4x16), 56 at their minimum');
    expect(quota.detail).toContain('use 0 vCPU now');
  });

  it('asks only for the configured zones and the fleets\' types', async () => {
    await runPreflight(prodConfig(), testDeps());
    const input = mocks.ec2.commandCalls(DescribeInstanceTypeOfferingsCommand)[0].args[0].input;
    expect(input.LocationType).toBe('availability-zone');
    expect(input.Filters).toEqual([{ Name: 'instance-type', Values: ['g6e.xlarge', 'g6e.4xlarge'] }]);
  });

  it('checks the bootstrap stack of us-east-1 for the cost stack as well as the environment region', async () => {
    const results = await runPreflight(prodConfig({ region: 'eu-west-1', 'network.availabilityZones': 'eu-west-1a,eu-west-1b,eu-west-1c', 'proxy.certificateArn': CERT_ARN.replace('us-east-1', 'eu-west-1') }), testDeps());
    expect(results.map((r) => r.check).filter((c) => c.startsWith('CDK bootstrap'))).toEqual(['CDK bootstrap (eu-west-1)', 'CDK bootstrap (us-east-1)']);
    const regions = await Promise.all(mocks.cfn.commandCalls(DescribeStacksCommand).map((c) => (c.thisValue as { config: { region(): Promise<string> } }).config.region()));
    expect(regions.sort()).toEqual(['eu-west-1', 'us-east-1']);
  });
});

describe('credentials', () => {
  it('stops at a clear first row when no credentials resolve, and still checks Docker', async () => {
    mocks.sts.on(GetCallerIdentityCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));
    const results = await runPreflight(prodConfig(), testDeps());
    expect(results[0]).toMatchObject({ check: 'AWS credentials', status: 'BLOCK', detail: 'no usable credentials found (Could not load credentials from any providers)' });
    expect(results[0].fix).toMatch(/aws sso login/);
    expect(statuses(results)).toEqual({ 'AWS credentials': 'BLOCK', 'Account checks': 'SKIP', 'Docker for the image build': 'PASS' });
    expect(mocks.ec2.calls()).toHaveLength(0);
    expect(exitCode(results)).toBe(1);
  });

  it('blocks expired credentials with the service\'s reason', async () => {
    mocks.sts.on(GetCallerIdentityCommand).rejects(awsError('ExpiredToken', 'The security token included in the request is expired', 403));
    const [first] = await runPreflight(prodConfig(), testDeps());
    expect(first).toMatchObject({ status: 'BLOCK', detail: 'credentials rejected: ExpiredToken (The security token included in the request is expired)' });
  });

  it('blocks when STS cannot be reached, naming the network error', async () => {
    mocks.sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error('getaddrinfo ENOTFOUND sts.us-east-1.amazonaws.com'), { code: 'ENOTFOUND' }));
    const [first] = await runPreflight(prodConfig(), testDeps());
    expect(first.status).toBe('BLOCK');
    expect(first.detail).toBe('cannot reach STS in us-east-1: sts:GetCallerIdentity: network error ENOTFOUND (getaddrinfo ENOTFOUND sts.us-east-1.amazonaws.com)');
  });

  it('blocks credentials of another account than the configured one', async () => {
    const [first] = await runPreflight(prodConfig({ account: '999988887777' }), testDeps());
    expect(first.status).toBe('BLOCK');
    expect(first.detail).toContain(`config account is 999988887777 but the credentials are for ${ACCOUNT}`);
  });
});

describe('vCPU quota', () => {
  it('blocks a quota below the fleets\' maximum and gives the increase command', async () => {
    mocks.quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 96 } });
    const results = await runPreflight(prodConfig(), testDeps());
    const quota = rowOf(results, 'vCPU quota L-DB2E81BA');
    expect(quota.status).toBe('BLOCK');
    expect(quota.detail).toMatch(/scale-out stops short of maxCapacity/);
    expect(quota.fix).toContain('aws service-quotas request-service-quota-increase --region us-east-1 --service-code ec2 --quota-code L-DB2E81BA --desired-value 112');
    expect(exitCode(results)).toBe(1);
  });

  it('falls back to the AWS default when no value is applied, and blocks below the minimum', async () => {
    mocks.quotas.on(GetServiceQuotaCommand).rejects(awsError('NoSuchResourceException', 'The request failed because the specified service quota does not exist.'));
    mocks.quotas.on(GetAWSDefaultServiceQuotaCommand).resolves({ Quota: { Value: 0 } });
    const quota = rowOf(await runPreflight(prodConfig(), testDeps()), 'vCPU quota L-DB2E81BA');
    expect(quota.status).toBe('BLOCK');
    expect(quota.detail).toContain('quota 0 vCPU (AWS default, no increase applied)');
    expect(quota.detail).toMatch(/below the fleets' minimum/);
  });

  it('counts other G instances but not this environment\'s own, and warns when they eat the headroom', async () => {
    mocks.quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 128 } });
    mocks.ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{
        Instances: [
          { InstanceType: 'g5.12xlarge', CpuOptions: { CoreCount: 24, ThreadsPerCore: 2 }, Tags: [{ Key: 'team', Value: 'vision' }] },
          { InstanceType: 'g6e.4xlarge', CpuOptions: { CoreCount: 8, ThreadsPerCore: 2 }, Tags: [{ Key: 'CostScope', Value: 'llm-tier-router-prod' }] },
        ],
      }],
    });
    const quota = rowOf(await runPreflight(prodConfig(), testDeps()), 'vCPU quota L-DB2E81BA');
    expect(quota.status).toBe('WARN');
    expect(quota.detail).toContain('use 48 vCPU now');
    expect(quota.detail).toContain('headroom 80 vCPU');
    expect(quota.fix).toContain('--desired-value 160');
    const filters = mocks.ec2.commandCalls(DescribeInstancesCommand)[0].args[0].input.Filters;
    expect(filters).toContainEqual({ Name: 'instance-type', Values: ['g*', 'vt*'] });
    expect(filters).toContainEqual({ Name: 'instance-state-name', Values: ['pending', 'running'] });
  });

  it('says so when usage cannot be read, and still judges the quota', async () => {
    mocks.ec2.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));
    const quota = rowOf(await runPreflight(prodConfig(), testDeps()), 'vCPU quota L-DB2E81BA');
    expect(quota.status).toBe('PASS');
    expect(quota.detail).toContain('current usage unknown (needs ec2:DescribeInstances)');
  });

  it('points at an open increase request instead of filing another', async () => {
    mocks.quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 64 } });
    mocks.quotas.on(ListRequestedServiceQuotaChangeHistoryByQuotaCommand).resolves({ RequestedQuotas: [{ DesiredValue: 128, Status: 'CASE_OPENED' }] });
    const quota = rowOf(await runPreflight(prodConfig(), testDeps()), 'vCPU quota L-DB2E81BA');
    expect(quota.status).toBe('BLOCK');
    expect(quota.detail).toContain('an increase to 128 is CASE_OPENED');
    expect(quota.fix).toMatch(/^wait for the open request \(128 vCPU\)/);
  });

  it('checks the P quota on its own row when a tier runs on P instances', async () => {
    mocks.quotas.on(GetServiceQuotaCommand, { QuotaCode: 'L-417A185B' }).resolves({ Quota: { Value: 0 } });
    const results = await runPreflight(prodConfig({ 'tiers.large.instanceType': 'p5.4xlarge' }), testDeps());
    expect(rowOf(results, 'vCPU quota L-DB2E81BA').status).toBe('PASS');
    const p = rowOf(results, 'vCPU quota L-417A185B');
    expect(p.status).toBe('BLOCK');
    expect(p.detail).toContain('Running On-Demand P instances: quota 0 vCPU');
    expect(p.detail).toContain('fleets need 64 at maxCapacity (large 4x16)');
  });
});

describe('instance type offerings', () => {
  it('blocks only the fleet whose type a configured zone lacks, and names zones that would work', async () => {
    mocks.ec2.on(DescribeInstanceTypeOfferingsCommand).resolves({
      InstanceTypeOfferings: [
        ...['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d'].map((Location) => ({ InstanceType: 'g6e.xlarge' as const, Location })),
        ...['us-east-1a', 'us-east-1b', 'us-east-1d'].map((Location) => ({ InstanceType: 'g6e.4xlarge' as const, Location })),
      ],
    });
    const results = await runPreflight(prodConfig(), testDeps());
    expect(rowOf(results, 'g6e.xlarge in AZs (router)').status).toBe('PASS');
    const large = rowOf(results, 'g6e.4xlarge in AZs (large)');
    expect(large.status).toBe('BLOCK');
    expect(large.detail).toBe('not offered in us-east-1c; offered in us-east-1a, us-east-1b, us-east-1d');
    expect(large.fix).toContain('-c network.availabilityZones=us-east-1a,us-east-1b,us-east-1d');
  });

  it('follows every page of offerings', async () => {
    mocks.ec2.on(DescribeInstanceTypeOfferingsCommand)
      .resolvesOnce({ InstanceTypeOfferings: [{ InstanceType: 'g6e.xlarge', Location: 'us-east-1a' }, { InstanceType: 'g6e.4xlarge', Location: 'us-east-1a' }], NextToken: 'p2' })
      .resolves({ InstanceTypeOfferings: ['us-east-1b', 'us-east-1c'].flatMap((Location) => [{ InstanceType: 'g6e.xlarge', Location }, { InstanceType: 'g6e.4xlarge', Location }]) });
    const results = await runPreflight(prodConfig(), testDeps());
    expect(rowOf(results, 'g6e.4xlarge in AZs (large)').status).toBe('PASS');
    expect(mocks.ec2.commandCalls(DescribeInstanceTypeOfferingsCommand)[1].args[0].input.NextToken).toBe('p2');
  });
});

describe('secrets', () => {
  it('blocks a missing Hugging Face token secret when a served model is gated', async () => {
    mocks.secrets.on(DescribeSecretCommand).rejects(awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret."));
    const hf = rowOf(await runPreflight(prodConfig(), testDeps()), 'Hugging Face token secret');
    expect(hf.status).toBe('BLOCK');
    expect(hf.detail).toBe('llm-tier-router/hf-token not found in us-east-1; fleets small, large load gated models and stop at boot without it');
    expect(hf.fix).toContain('aws secretsmanager create-secret --region us-east-1 --name llm-tier-router/hf-token');
  });

  it('blocks a secret with no current value, and one scheduled for deletion', async () => {
    mocks.secrets.on(DescribeSecretCommand).resolves({ Name: 'llm-tier-router/hf-token', VersionIdsToStages: {} });
    expect(rowOf(await runPreflight(prodConfig(), testDeps()), 'Hugging Face token secret')).toMatchObject({ status: 'BLOCK', detail: expect.stringContaining('has no current value') });
    mocks.secrets.on(DescribeSecretCommand).resolves({ Name: 'llm-tier-router/hf-token', DeletedDate: new Date('2026-08-01T00:00:00Z'), VersionIdsToStages: { v: ['AWSCURRENT'] } });
    const hf = rowOf(await runPreflight(prodConfig(), testDeps()), 'Hugging Face token secret');
    expect(hf).toMatchObject({ status: 'BLOCK', detail: expect.stringContaining('scheduled for deletion on 2026-08-01') });
    expect(hf.fix).toBe('aws secretsmanager restore-secret --secret-id llm-tier-router/hf-token');
  });

  it('never reads a secret value', async () => {
    await runPreflight(prodConfig({ 'proxy.apiKeysSecretName': 'prod/api-keys' }), testDeps());
    const sent = Object.values(mocks).flatMap((m) => (m.calls() as readonly { args: readonly object[] }[]).map((c) => c.args[0].constructor.name));
    expect(sent).toContain('DescribeSecretCommand');
    expect(sent).not.toContain('GetSecretValueCommand');
    expect(mocks.secrets.commandCalls(DescribeSecretCommand).map((c) => c.args[0].input.SecretId).sort()).toEqual(['llm-tier-router/hf-token', 'prod/api-keys']);
  });

  it('blocks a configured API keys secret that does not exist', async () => {
    mocks.secrets.on(DescribeSecretCommand, { SecretId: 'prod/api-keys' }).rejects(awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret."));
    const results = await runPreflight(prodConfig({ 'proxy.apiKeysSecretName': 'prod/api-keys' }), testDeps());
    expect(rowOf(results, 'API keys secret')).toMatchObject({ status: 'BLOCK', detail: expect.stringContaining('the proxy tasks inject it and never start') });
    expect(rowOf(results, 'Hugging Face token secret').status).toBe('PASS');
  });
});

describe('certificate', () => {
  it('blocks the example ARN from cdk.json without asking ACM', async () => {
    const results = await runPreflight(prodConfig({ 'proxy.certificateArn': 'arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000' }), testDeps());
    expect(rowOf(results, 'TLS certificate')).toMatchObject({ status: 'BLOCK', detail: expect.stringContaining('is the example ARN from cdk.json') });
    expect(mocks.acm.calls()).toHaveLength(0);
  });

  it('blocks a certificate of another region than the load balancer', async () => {
    const cert = rowOf(await runPreflight(prodConfig({ 'proxy.certificateArn': CERT_ARN.replace('us-east-1', 'eu-west-1') }), testDeps()), 'TLS certificate');
    expect(cert.status).toBe('BLOCK');
    expect(cert.detail).toBe('the certificate is in eu-west-1; the load balancer is in us-east-1 and takes only a certificate of its own region');
  });

  it('blocks a certificate pending validation and gives the DNS record to create', async () => {
    mocks.acm.on(DescribeCertificateCommand).resolves({
      Certificate: {
        DomainName: 'llm.example.com',
        Status: 'PENDING_VALIDATION',
        DomainValidationOptions: [{ DomainName: 'llm.example.com', ValidationStatus: 'PENDING_VALIDATION', ResourceRecord: { Name: '_x1.llm.example.com.', Type: 'CNAME', Value: '_y2.acm-validations.aws.' } }],
      },
    });
    const cert = rowOf(await runPreflight(prodConfig(), testDeps()), 'TLS certificate');
    expect(cert).toMatchObject({ status: 'BLOCK', detail: 'llm.example.com is PENDING_VALIDATION' });
    expect(cert.fix).toBe('create the DNS validation record(s): _x1.llm.example.com. CNAME _y2.acm-validations.aws.');
  });

  it('blocks a certificate ACM does not know', async () => {
    mocks.acm.on(DescribeCertificateCommand).rejects(awsError('ResourceNotFoundException', 'Could not find certificate'));
    expect(rowOf(await runPreflight(prodConfig(), testDeps()), 'TLS certificate')).toMatchObject({ status: 'BLOCK', detail: `${CERT_ARN} not found in us-east-1` });
  });

  it('warns when the certificate does not cover proxy.domainName', async () => {
    const cert = rowOf(await runPreflight(prodConfig({ 'proxy.domainName': 'api.example.org' }), testDeps()), 'TLS certificate');
    expect(cert.status).toBe('WARN');
    expect(cert.detail).toContain('does not cover proxy.domainName api.example.org');
  });

  it('skips where the environment serves plain HTTP', async () => {
    const results = await runPreflight(envConfig('dev'), testDeps());
    expect(rowOf(results, 'TLS certificate').status).toBe('SKIP');
  });
});

describe('cost-allocation tag', () => {
  it('warns when Billing does not know the key yet, saying what that means for a first deploy', async () => {
    mocks.ce.on(ListCostAllocationTagsCommand).resolves({ CostAllocationTags: [] });
    const results = await runPreflight(prodConfig(), testDeps());
    const tag = rowOf(results, 'Cost-allocation tag');
    expect(tag.status).toBe('WARN');
    expect(tag.detail).toMatch(/appears up to 24 h after resources carry it/);
    expect(tag.fix).toMatch(/^deploy, then once the key is listed: aws ce update-cost-allocation-tags-status --cost-allocation-tags-status TagKey=CostScope,Status=Active/);
    expect(exitCode(results)).toBe(0);
    expect(mocks.ce.commandCalls(ListCostAllocationTagsCommand)[0].args[0].input).toEqual({ TagKeys: ['CostScope'], Type: 'UserDefined' });
  });

  it('warns about an inactive key', async () => {
    mocks.ce.on(ListCostAllocationTagsCommand).resolves({ CostAllocationTags: [{ TagKey: 'CostScope', Type: 'UserDefined', Status: 'Inactive' }] });
    expect(rowOf(await runPreflight(prodConfig(), testDeps()), 'Cost-allocation tag')).toMatchObject({ status: 'WARN', detail: expect.stringContaining('CostScope is Inactive') });
  });

  it('is skipped, with no Cost Explorer call, when the cost stack is disabled', async () => {
    const results = await runPreflight(prodConfig({ 'alarms.costGuardEnabled': 'false' }), testDeps());
    expect(rowOf(results, 'Cost-allocation tag').status).toBe('SKIP');
    expect(mocks.ce.calls()).toHaveLength(0);
  });
});

describe('CDK bootstrap', () => {
  const euWest = { region: 'eu-west-1', 'network.availabilityZones': 'eu-west-1a,eu-west-1b,eu-west-1c', 'proxy.certificateArn': CERT_ARN.replace('us-east-1', 'eu-west-1') };

  it('blocks the region that lacks the bootstrap stack and passes the other', async () => {
    mocks.cfn.on(DescribeStacksCommand).callsFake(async (_input, getClient) => {
      if ((await getClient().config.region()) === 'us-east-1') throw awsError('ValidationError', 'Stack with id CDKToolkit does not exist');
      return { Stacks: [{ StackName: 'CDKToolkit', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '29' }] }] };
    });
    const results = await runPreflight(prodConfig(euWest), testDeps());
    expect(rowOf(results, 'CDK bootstrap (eu-west-1)').status).toBe('PASS');
    const usEast = rowOf(results, 'CDK bootstrap (us-east-1)');
    expect(usEast).toMatchObject({ status: 'BLOCK', detail: 'no CDKToolkit stack in us-east-1 (cost stack)', fix: `npx cdk bootstrap aws://${ACCOUNT}/us-east-1` });
  });

  it('blocks a bootstrap older than aws-cdk-lib requires', async () => {
    mocks.cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'CDKToolkit', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '5' }] }] });
    const row = rowOf(await runPreflight(prodConfig(), testDeps()), 'CDK bootstrap (us-east-1)');
    expect(row).toMatchObject({ status: 'BLOCK', detail: 'CDKToolkit v5; this aws-cdk-lib requires v6 or later' });
  });

  it('blocks a bootstrap stack left in a failed state', async () => {
    mocks.cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'CDKToolkit', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: new Date() }] });
    expect(rowOf(await runPreflight(prodConfig(), testDeps()), 'CDK bootstrap (us-east-1)')).toMatchObject({ status: 'BLOCK', detail: 'CDKToolkit is ROLLBACK_COMPLETE' });
  });

  it('says the required version is unknown when the probe fails, and still reports the stack', async () => {
    const row = rowOf(await runPreflight(prodConfig(), testDeps({ requiredBootstrapVersion: () => Promise.reject(new Error('could not read the required bootstrap version')) })), 'CDK bootstrap (us-east-1)');
    expect(row.status).toBe('UNKNOWN');
    expect(row.detail).toBe('CDKToolkit v29 UPDATE_COMPLETE; required version unknown: could not read the required bootstrap version');
  });

  it('compares against the version the probe reports', async () => {
    const row = rowOf(await runPreflight(prodConfig(), testDeps({ requiredBootstrapVersion: async () => 30 })), 'CDK bootstrap (us-east-1)');
    expect(row).toMatchObject({ status: 'BLOCK', detail: 'CDKToolkit v29; this aws-cdk-lib requires v30 or later' });
  });
});

describe('Docker', () => {
  it('blocks when docker is not installed', async () => {
    const results = await runPreflight(prodConfig(), testDeps({ run: fakeRunner({ code: null, stdout: '', stderr: '', failure: 'not-found' }) }));
    expect(rowOf(results, 'Docker for the image build')).toMatchObject({ status: 'BLOCK', detail: 'docker not found on PATH; cdk deploy builds the proxy image with it' });
    expect(exitCode(results)).toBe(1);
  });

  it('blocks when the daemon does not answer, quoting its error', async () => {
    const run = fakeRunner({ code: 1, stdout: 'Client:\n Version: 27.3.1\n', stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n' });
    const docker = rowOf(await runPreflight(prodConfig(), testDeps({ run })), 'Docker for the image build');
    expect(docker.status).toBe('BLOCK');
    expect(docker.detail).toBe('docker info exited 1: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?');
  });

  it('runs the command CDK_DOCKER names, as cdk deploy does', async () => {
    const run = fakeRunner();
    const docker = rowOf(await runPreflight(prodConfig(), testDeps({ run, env: { CDK_DOCKER: 'finch' } })), 'Docker for the image build');
    expect(run.commands).toEqual(['finch info']);
    expect(docker.detail).toBe('finch info exited 0 (server 27.3.1) (CDK_DOCKER=finch)');
  });
});

describe('failures of one call', () => {
  it('turns AccessDenied on one API into a row naming the permission, and runs the others', async () => {
    mocks.ec2.on(DescribeInstanceTypeOfferingsCommand).rejects(awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));
    const results = await runPreflight(prodConfig(), testDeps());
    const offerings = rowOf(results, 'Instance types in AZs');
    expect(offerings.status).toBe('UNKNOWN');
    expect(offerings.detail).toBe('UnauthorizedOperation on ec2:DescribeInstanceTypeOfferings: this check could not run');
    expect(offerings.fix).toMatch(/^allow ec2:DescribeInstanceTypeOfferings for the caller/);
    expect(rowOf(results, 'TLS certificate').status).toBe('PASS');
    expect(exitCode(results)).toBe(0);
  });

  it('gives up on a call that does not answer within the deadline', async () => {
    mocks.acm.on(DescribeCertificateCommand).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    const results = await runPreflight(prodConfig(), testDeps({ timeoutMs: 200 }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(rowOf(results, 'TLS certificate')).toMatchObject({ status: 'UNKNOWN', detail: 'acm:DescribeCertificate: no answer within 0.2 s' });
  });

  it('aborts the HTTP request of a call that timed out', async () => {
    let signal: AbortSignal | undefined;
    await expect(callAws('acm:DescribeCertificate', 50, (abortSignal) => {
      signal = abortSignal;
      return new Promise(() => undefined);
    })).rejects.toMatchObject({ kind: 'timeout', action: 'acm:DescribeCertificate' });
    expect(signal?.aborted).toBe(true);
  });

  it('never lets an unexpected error out of a check', async () => {
    mocks.cfn.on(DescribeStacksCommand).rejects(new TypeError('Cannot read properties of undefined'));
    const row = rowOf(await runPreflight(prodConfig(), testDeps()), 'CDK bootstrap (us-east-1)');
    expect(row.status).toBe('UNKNOWN');
    expect(row.detail).toBe('cloudformation:DescribeStacks failed: TypeError: Cannot read properties of undefined');
  });
});
