import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** Props of {@link PublicLoadBalancerWebAcl}. */
export interface PublicLoadBalancerWebAclProps {
  /** The load balancer to protect. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** Requests per 5 minutes from one client IP before it is blocked. */
  readonly rateLimit: number;
  /** Prefix of the CloudWatch metric names of the web ACL, e.g. the environment name. */
  readonly metricPrefix: string;
}

/**
 * Body rules of the AWS common rule set that only count: request bodies here are prompts (code,
 * HTML, URLs, long documents), which these rules mistake for attacks; the proxy limits body size.
 */
export const COUNTED_COMMON_RULES: readonly string[] = [
  'SizeRestrictions_BODY',
  'CrossSiteScripting_BODY',
  'GenericLFI_BODY',
  'GenericRFI_BODY',
  'EC2MetaDataSSRF_BODY',
];

/** A regional AWS WAF web ACL on the public ALB: a per-IP rate limit and the AWS common rule set. */
export class PublicLoadBalancerWebAcl extends Construct {
  /** The web ACL. */
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: PublicLoadBalancerWebAclProps) {
    super(scope, id);
    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName: `${props.metricPrefix}-${name}`,
    });
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('proxy-web-acl'),
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: props.rateLimit, aggregateKeyType: 'IP' } },
          visibilityConfig: visibility('rate-limit'),
        },
        {
          name: 'AwsCommonRuleSet',
          priority: 1,
          overrideAction: { none: {} },
          statement: {
            managedRuleGroupStatement: {
              vendorName: 'AWS',
              name: 'AWSManagedRulesCommonRuleSet',
              ruleActionOverrides: COUNTED_COMMON_RULES.map((name) => ({ name, actionToUse: { count: {} } })),
            },
          },
          visibilityConfig: visibility('common-rules'),
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.loadBalancer.loadBalancerArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
