import type { Template } from 'aws-cdk-lib/assertions';

/** One security-group rule as the synthesized template states it, inline or as its own resource. */
interface Rule {
  readonly IpProtocol?: string;
  readonly FromPort?: number;
  readonly ToPort?: number;
  readonly CidrIp?: string;
  readonly SourceSecurityGroupId?: unknown;
  readonly DestinationSecurityGroupId?: unknown;
  readonly GroupId?: unknown;
}

type Resource = { Type: string; Properties: Record<string, any> };

/** `{ "Fn::GetAtt": [id, "GroupId"] }` (or `{ Ref: id }`) names the security group `id`. */
function names(value: unknown, id: string): boolean {
  if (!value || typeof value !== 'object') return false;
  const v = value as { 'Fn::GetAtt'?: unknown[]; Ref?: unknown };
  return (Array.isArray(v['Fn::GetAtt']) && v['Fn::GetAtt'][0] === id) || v.Ref === id;
}

/** True when the rule's protocol and port range let TCP `port` through. */
function coversPort(rule: Rule, port: number): boolean {
  if (rule.IpProtocol === '-1') return true;
  return rule.IpProtocol === 'tcp' && (rule.FromPort ?? -1) <= port && port <= (rule.ToPort ?? -1);
}

/** Every rule of one direction on security group `groupId`: its inline rules and the standalone resources. */
function rules(template: Template, groupId: string, direction: 'Ingress' | 'Egress'): Rule[] {
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const group = resources[groupId];
  if (!group || group.Type !== 'AWS::EC2::SecurityGroup') {
    throw new Error(`${groupId} is not a security group of this template`);
  }
  const inline = (group.Properties[`SecurityGroup${direction}`] ?? []) as Rule[];
  const standalone = Object.values(resources)
    .filter((r) => r.Type === `AWS::EC2::SecurityGroup${direction}` && names(r.Properties.GroupId, groupId))
    .map((r) => r.Properties as Rule);
  return [...inline, ...standalone];
}

/** One network path: a client security group opening TCP connections to a server security group on a port. */
export interface NetworkPath {
  /** What the path is, for the failure message (`pre-warm -> small:8000`). */
  readonly name: string;
  /** Logical id of the client's security group. */
  readonly client: string;
  /** Logical id of the server's security group. */
  readonly server: string;
  readonly port: number;
}

/**
 * What blocks `path` in the synthesized template, empty when both sides allow it: the client needs an
 * egress rule to the server's group (or to 0.0.0.0/0, which includes allowAllOutbound) covering the
 * port, and the server an ingress rule from the client's group covering it. Security groups are
 * stateful, so these two rules are all a TCP connection needs.
 */
export function pathProblems(template: Template, path: NetworkPath): string[] {
  const problems: string[] = [];
  const egress = rules(template, path.client, 'Egress').some((r) =>
    coversPort(r, path.port) && (names(r.DestinationSecurityGroupId, path.server) || r.CidrIp === '0.0.0.0/0'));
  if (!egress) problems.push(`${path.name}: client ${path.client} has no egress rule to ${path.server} on ${path.port}`);
  const ingress = rules(template, path.server, 'Ingress').some((r) =>
    coversPort(r, path.port) && names(r.SourceSecurityGroupId, path.client));
  if (!ingress) problems.push(`${path.name}: server ${path.server} has no ingress rule from ${path.client} on ${path.port}`);
  return problems;
}
