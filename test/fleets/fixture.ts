import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { fleetSpecs, FleetSpec } from '../../lib/config/fleets';
import type { EnvConfig } from '../../lib/config/schema';
import type { EnvironmentStack } from '../../lib/environment-stack';
import { cdkContext, load } from '../config/helpers';

/** One environment built from cdk.json (plus `-c`-style overrides), nag and schema validation off. */
export interface BuiltEnvironment {
  readonly config: EnvConfig;
  readonly specs: FleetSpec[];
  readonly stack: EnvironmentStack;
  readonly template: Template;
}

const cache = new Map<string, BuiltEnvironment>();

/** Builds (once per argument set) the environment stack of `envName`. */
export function buildEnvironment(envName: string, overrides: Record<string, string> = {}): BuiltEnvironment {
  const key = JSON.stringify([envName, overrides]);
  const cached = cache.get(key);
  if (cached) return cached;
  const config = load({ env: envName, ...overrides });
  const app = new App({ context: { ...cdkContext(), env: envName, '@aws-cdk/core:validateAgainstDefaultRules': false } });
  const { environment } = buildApp(app, config, { nag: false });
  const built = { config, specs: fleetSpecs(config), stack: environment, template: Template.fromStack(environment) };
  cache.set(key, built);
  return built;
}

type Resource = { Type: string; Properties: Record<string, any> };

/** The logical id and resource of the one resource of `type` whose properties contain `match`. */
export function only(template: Template, type: string, predicate: (r: Resource) => boolean): [string, Resource] {
  const found = Object.entries(template.findResources(type) as Record<string, Resource>).filter(([, r]) => predicate(r));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

/** Every resource of `type` matching `predicate`. */
export function all(template: Template, type: string, predicate: (r: Resource) => boolean = () => true): [string, Resource][] {
  return Object.entries(template.findResources(type) as Record<string, Resource>).filter(([, r]) => predicate(r));
}

/** `{ Ref: id }` or `{ 'Fn::GetAtt': [id, ...] }` names `id`. */
export function refersTo(value: unknown, id: string): boolean {
  return JSON.stringify(value).includes(`"${id}"`);
}

/** The Auto Scaling group of a fleet and its launch template data (user data decoded as text). */
export function fleetResources(template: Template, groupName: string) {
  const [groupId, group] = only(template, 'AWS::AutoScaling::AutoScalingGroup', (r) => r.Properties.AutoScalingGroupName === groupName);
  const ltRef = group.Properties.LaunchTemplate.LaunchTemplateId.Ref as string;
  const lt = template.findResources('AWS::EC2::LaunchTemplate')[ltRef] as Resource;
  const data = lt.Properties.LaunchTemplateData;
  const userData = data.UserData['Fn::Base64'];
  if (typeof userData !== 'string') throw new Error('expected literal user data');
  return { groupId, group, launchTemplateId: ltRef, launchTemplateData: data, userData };
}
