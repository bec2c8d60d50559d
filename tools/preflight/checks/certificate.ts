/**
 * The HTTPS listener's certificate: an ALB takes only an ISSUED ACM certificate of its own region
 * and account; anything else fails the listener and with it the deploy.
 */
import { CertificateDetail, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { AwsCallError } from '../aws';
import { CheckContext } from '../context';
import { CheckResult, row } from '../result';

/** Name of the certificate row. */
export const CERTIFICATE_CHECK = 'TLS certificate';

/** Days before expiry from which an imported certificate (never renewed by ACM) is a warning. */
export const EXPIRY_WARNING_DAYS = 30;

// The example ARN in cdk.json: the documentation account and an all-zero id.
const PLACEHOLDER_ACCOUNT = '123456789012';
const PLACEHOLDER_ID = /certificate\/0{8}-0{4}-0{4}-0{4}-0{12}$/;

/** True when `name` is covered by the certificate name `pattern` (a leading `*.` covers one label). */
export function coversName(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const n = name.toLowerCase();
  if (p === n) return true;
  return p.startsWith('*.') && n.endsWith(p.slice(1)) && !n.slice(0, -(p.length - 1)).includes('.');
}

/** The DNS records still to create for validation, as `name CNAME value`. */
function pendingRecords(c: CertificateDetail): string[] {
  return (c.DomainValidationOptions ?? [])
    .filter((o) => o.ValidationStatus !== 'SUCCESS' && o.ResourceRecord)
    .map((o) => `${o.ResourceRecord?.Name} ${o.ResourceRecord?.Type} ${o.ResourceRecord?.Value}`);
}

/** The certificate row (SKIP when the environment serves plain HTTP). */
export async function checkCertificate(ctx: CheckContext, now: Date = new Date()): Promise<CheckResult[]> {
  const { certificateArn: arn, allowHttp, domainName } = ctx.cfg.proxy;
  const region = ctx.cfg.region;
  if (!arn) {
    return [row(CERTIFICATE_CHECK, allowHttp ? 'SKIP' : 'BLOCK', allowHttp ? 'HTTP only (proxy.allowHttp true, no proxy.certificateArn)' : 'proxy.certificateArn unset', `request one: aws acm request-certificate --region ${region} --domain-name <name> --validation-method DNS, then set proxy.certificateArn`)];
  }
  const [, , , arnRegion, arnAccount] = arn.split(':');
  const request = `aws acm request-certificate --region ${region} --domain-name ${domainName ?? '<name>'} --validation-method DNS, validate it, then set proxy.certificateArn (cdk.json environments.${ctx.cfg.envName}.proxy or -c proxy.certificateArn=<arn>)`;
  if (arnAccount === PLACEHOLDER_ACCOUNT && PLACEHOLDER_ID.test(arn)) {
    return [row(CERTIFICATE_CHECK, 'BLOCK', `${arn} is the example ARN from cdk.json`, request)];
  }
  if (arnRegion !== region) {
    return [row(CERTIFICATE_CHECK, 'BLOCK', `the certificate is in ${arnRegion}; the load balancer is in ${region} and takes only a certificate of its own region`, request)];
  }
  if (arnAccount !== ctx.account) {
    return [row(CERTIFICATE_CHECK, 'BLOCK', `the certificate belongs to account ${arnAccount}, the deploy goes to ${ctx.account}`, request)];
  }

  const acm = ctx.clients(region).acm;
  let cert: CertificateDetail | undefined;
  try {
    cert = (await ctx.call('acm:DescribeCertificate', (abortSignal) => acm.send(new DescribeCertificateCommand({ CertificateArn: arn }), { abortSignal }))).Certificate;
  } catch (err) {
    if (err instanceof AwsCallError && err.code === 'ResourceNotFoundException') {
      return [row(CERTIFICATE_CHECK, 'BLOCK', `${arn} not found in ${region}`, request)];
    }
    throw err;
  }
  const names = [cert?.DomainName, ...(cert?.SubjectAlternativeNames ?? [])].filter((n): n is string => !!n);
  const what = `${cert?.DomainName ?? arn}`;
  switch (cert?.Status) {
    case 'ISSUED':
      break;
    case 'PENDING_VALIDATION': {
      const records = pendingRecords(cert);
      return [row(CERTIFICATE_CHECK, 'BLOCK', `${what} is PENDING_VALIDATION`, records.length ? `create the DNS validation record(s): ${records.join('; ')}` : 'complete the validation (DNS record or email) shown in the ACM console')];
    }
    default:
      return [row(CERTIFICATE_CHECK, 'BLOCK', `${what} is ${cert?.Status ?? 'in an unknown state'}${cert?.FailureReason ? ` (${cert.FailureReason})` : ''}`, request)];
  }

  const notAfter = cert.NotAfter;
  const daysLeft = notAfter ? Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000) : undefined;
  const expiry = notAfter ? `, expires ${notAfter.toISOString().slice(0, 10)}` : '';
  if (domainName && !names.some((n) => coversName(n, domainName))) {
    return [row(CERTIFICATE_CHECK, 'WARN', `${what} is ISSUED but does not cover proxy.domainName ${domainName} (covers ${names.join(', ')}); clients will see a name mismatch`, 'use a certificate for that name, or set proxy.domainName to a covered name')];
  }
  if (cert.Type === 'IMPORTED' && daysLeft !== undefined && daysLeft < EXPIRY_WARNING_DAYS) {
    return [row(CERTIFICATE_CHECK, 'WARN', `${what} is an imported certificate that expires in ${daysLeft} days; ACM does not renew imported certificates`, 're-import a renewed certificate under the same ARN (aws acm import-certificate --certificate-arn ...)')];
  }
  return [row(CERTIFICATE_CHECK, 'PASS', `${what} ISSUED in ${region}${expiry}`)];
}
