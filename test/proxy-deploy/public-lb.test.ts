import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { OPS_PATHS } from '../../contracts/proxy-config';
import { fleetSpecs } from '../../lib/config/fleets';
import type { EnvConfig } from '../../lib/config/schema';
import { HIDE_OPS_ENDPOINTS_PRIORITY } from '../../lib/constructs/public-lb';
import { COUNTED_COMMON_RULES } from '../../lib/constructs/public-lb-waf';
import { PROXY_HEALTH_PATH } from '../../lib/proxy-config/container';
import { renderProxyConfig, type UpstreamEndpoint } from '../../lib/proxy-config/render';
import { proxyTimings } from '../../lib/proxy-config/timings';
import { configFor, onlyResource, proxyStack } from './fixture';

const LISTENER = 'AWS::ElasticLoadBalancingV2::Listener';

/** One internal endpoint per server of the config, as the internal load balancer publishes them. */
function endpointsFor(cfg: EnvConfig): UpstreamEndpoint[] {
  let port = 9000;
  return fleetSpecs(cfg).flatMap((f) => f.servers.map((sv) => ({ fleet: f.name, role: sv.role, servedModelName: sv.servedModelName, port: port, url: `http://internal.example:${port++}` })));
}

/** Every way into security group `sg`: inline rules and separate ingress resources, as `source:port`. */
function ingressOf(template: Record<string, any>, sg: string): string[] {
  const resources = Object.values(template.Resources) as { Type: string; Properties: Record<string, any> }[];
  const inline = (template.Resources[sg].Properties.SecurityGroupIngress ?? []) as Record<string, any>[];
  const separate = resources
    .filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress' && JSON.stringify(r.Properties.GroupId).includes(sg))
    .map((r) => r.Properties);
  return [...inline, ...separate]
    .map((r) => `${r.CidrIp ?? JSON.stringify(r.SourceSecurityGroupId)}:${r.FromPort}${r.ToPort === r.FromPort ? '' : `-${r.ToPort}`}`)
    .sort();
}

describe('public load balancer with a certificate (prod)', () => {
  const s = proxyStack(configFor('prod', { 'proxy.allowedCidrs': '203.0.113.0/24,198.51.100.0/24' }));
  const template = s.template();
  const lbSg = s.stack.getLogicalId(s.proxy.publicLoadBalancer.securityGroup.node.defaultChild as never);

  it('serves HTTPS with the configured certificate and a TLS 1.3/1.2 policy', () => {
    template.hasResourceProperties(LISTENER, {
      Protocol: 'HTTPS',
      Port: 443,
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-PQ-2025-09',
      Certificates: [{ CertificateArn: s.cfg.proxy.certificateArn }],
      DefaultActions: [Match.objectLike({ Type: 'forward' })],
    });
  });

  it('redirects HTTP to HTTPS with a permanent redirect and forwards nothing over HTTP', () => {
    template.resourceCountIs(LISTENER, 2);
    template.hasResourceProperties(LISTENER, {
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }],
    });
  });

  it('admits only the configured client CIDRs, on 443 and on 80 for the redirect', () => {
    expect(ingressOf(template.toJSON(), lbSg)).toEqual([
      '198.51.100.0/24:443', '198.51.100.0/24:80', '203.0.113.0/24:443', '203.0.113.0/24:80',
    ]);
  });

  it('is internet-facing in the public subnets, drops invalid headers and idles longer than the longest generation', () => {
    const lb = onlyResource(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(lb.Properties.Scheme).toBe('internet-facing');
    const attrs = Object.fromEntries((lb.Properties.LoadBalancerAttributes as { Key: string; Value: string }[]).map((a) => [a.Key, a.Value]));
    expect(attrs['routing.http.drop_invalid_header_fields.enabled']).toBe('true');
    expect(Number(attrs['idle_timeout.timeout_seconds'])).toBe(proxyTimings(s.cfg.longestGenerationSeconds).loadBalancerIdleTimeoutSeconds);
    expect(Number(attrs['idle_timeout.timeout_seconds'])).toBeGreaterThan(s.cfg.longestGenerationSeconds);
    expect(attrs['access_logs.s3.enabled']).toBe('true');
    const publicSubnets = s.stack.node.findAll().filter((c) => c.node.path.includes('/Network/Vpc/publicSubnet') && c.node.id === 'Subnet');
    expect(lb.Properties.Subnets).toHaveLength(publicSubnets.length);
    expect(JSON.stringify(lb.Properties.Subnets)).toMatch(/publicSubnet/);
  });

  it('writes access logs to an encrypted, TLS-only, private bucket that expires them', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Status: 'Enabled', ExpirationInDays: s.cfg.logRetentionDays })]) },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('warns that the example certificate ARN must be replaced', () => {
    Annotations.fromStack(s.stack).hasWarning('/Proxy-prod/RoutingProxy/PublicLb', Match.stringLikeRegexp('example account 123456789012'));
  });

  it('puts a web ACL with a per-IP rate limit and the AWS common rule set in front of it (wafEnabled)', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({ Name: 'RateLimitPerIp', Action: { Block: {} }, Statement: { RateBasedStatement: { Limit: s.cfg.proxy.wafRateLimit, AggregateKeyType: 'IP' } } }),
        Match.objectLike({
          Name: 'AwsCommonRuleSet',
          OverrideAction: { None: {} },
          Statement: {
            ManagedRuleGroupStatement: {
              VendorName: 'AWS',
              Name: 'AWSManagedRulesCommonRuleSet',
              RuleActionOverrides: COUNTED_COMMON_RULES.map((name) => ({ Name: name, ActionToUse: { Count: {} } })),
            },
          },
        }),
      ],
    });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: { Ref: Match.stringLikeRegexp('PublicLbLoadBalancer') },
    });
  });

  it('uses the configured WAF rate limit', () => {
    const t = proxyStack(configFor('prod', { 'proxy.wafRateLimit': '500' })).template();
    t.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([Match.objectLike({ Statement: { RateBasedStatement: { Limit: 500, AggregateKeyType: 'IP' } } })]),
    });
  });

});

describe('public load balancer without a certificate (dev, allowHttp)', () => {
  const s = proxyStack(configFor('dev'));
  const template = s.template();

  it('forwards plain HTTP on 80 and has no HTTPS listener', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [Match.objectLike({ Type: 'forward' })],
    });
  });

  it('warns at synth that traffic is unencrypted', () => {
    Annotations.fromStack(s.stack).hasWarning('/Proxy-dev/RoutingProxy/PublicLb', Match.stringLikeRegexp('allowHttp is on and no certificate'));
  });

  it('admits the client CIDRs on 80 only', () => {
    const lbSg = s.stack.getLogicalId(s.proxy.publicLoadBalancer.securityGroup.node.defaultChild as never);
    expect(ingressOf(template.toJSON(), lbSg)).toEqual(s.cfg.proxy.allowedCidrs.map((c) => `${c}:80`));
  });

  it('has no web ACL when wafEnabled is off', () => {
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
  });

  it('the endpoint output is an http:// URL', () => {
    template.hasOutput('ProxyEndpointUrl', { Value: { 'Fn::Join': ['', ['http://', Match.anyValue()]] } });
  });
});

describe('/readyz and /metrics at the public load balancer (proxy.opsEndpoints)', () => {
  const RULE = 'AWS::ElasticLoadBalancingV2::ListenerRule';

  it.each([['prod', 'Https'], ['dev', 'Http']])('%s by default: the %s listener answers both paths with a 404 before any target sees them', (env, listenerId) => {
    const s = proxyStack(configFor(env));
    const template = s.template();
    const listener = s.stack.getLogicalId(s.proxy.publicLoadBalancer.listener.node.defaultChild as never);
    expect(listener).toMatch(new RegExp(listenerId));
    template.resourceCountIs(RULE, 1);
    const rule = onlyResource(template, RULE).Properties;
    expect(rule).toEqual({
      ListenerArn: { Ref: listener },
      Priority: HIDE_OPS_ENDPOINTS_PRIORITY,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: [OPS_PATHS.readiness, OPS_PATHS.metrics] } }],
      Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'application/json', MessageBody: expect.any(String) } }],
    });
    expect(JSON.parse(rule.Actions[0].FixedResponseConfig.MessageBody)).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'not_found' } });
    // The health checks keep their path.
    expect(Object.values(OPS_PATHS)).not.toContain(PROXY_HEALTH_PATH);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: PROXY_HEALTH_PATH });
  });

  it.each([['apiKey', 'private'], ['public', 'public']])('opsEndpoints %s forwards both paths; the proxy runs with opsAccess %s', (opsEndpoints, opsAccess) => {
    const cfg = configFor('prod', { 'proxy.opsEndpoints': opsEndpoints });
    proxyStack(cfg).template().resourceCountIs(RULE, 0);
    expect(renderProxyConfig(cfg, endpointsFor(cfg)).opsAccess).toBe(opsAccess);
  });

  it('by default the proxy itself also keeps them from relayed callers (opsAccess private)', () => {
    const cfg = configFor('prod');
    expect(renderProxyConfig(cfg, endpointsFor(cfg)).opsAccess).toBe('private');
  });
});
