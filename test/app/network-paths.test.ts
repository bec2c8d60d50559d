import type { IConstruct } from 'constructs';
import { Ports } from '../../contracts/metrics';
import { buildEnvironment } from '../fleets/fixture';
import { NetworkPath, pathProblems } from './network-paths';

/**
 * Every network path a request or a warm-up takes, derived from the stack's wiring and checked on
 * the synthesized template: the client's group must allow the egress and the server's group the
 * ingress, or the connection times out at run time.
 */
describe.each([
  ['dev', { 'prewarm.enabled': 'true' }],
  ['staging', {}],
  ['prod', {}],
] as const)('%s: every network path is open on both sides', (envName, overrides) => {
  const { stack, template } = buildEnvironment(envName, overrides);
  const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as never);
  const publicLb = id(stack.routingProxy.publicLoadBalancer.securityGroup);
  const proxy = id(stack.routingProxy.service.securityGroup);
  const internalLb = id(stack.fleets.internalLoadBalancer.securityGroup);
  const prewarm = stack.prewarm;
  if (!prewarm) throw new Error(`${envName}: expected pre-warm to be enabled`);

  const paths: NetworkPath[] = [
    { name: 'public ALB -> proxy tasks', client: publicLb, server: proxy, port: Ports.proxy },
    ...stack.fleets.internalLoadBalancer.endpoints.map((e) => ({
      name: `proxy tasks -> internal ALB listener ${e.fleet} ${e.role}`, client: proxy, server: internalLb, port: e.port,
    })),
    ...stack.fleets.fleets.flatMap((fleet) => fleet.spec.servers.flatMap((server) => [
      { name: `internal ALB -> ${fleet.name} ${server.role}`, client: internalLb, server: id(fleet.instanceSecurityGroup), port: server.port },
      { name: `pre-warm -> ${fleet.name} ${server.role}`, client: id(prewarm.securityGroup), server: id(fleet.instanceSecurityGroup), port: server.port },
    ])),
  ];

  test('the paths cover each fleet server, each internal listener and the proxy', () => {
    const servers = stack.fleets.fleets.reduce((n, f) => n + f.spec.servers.length, 0);
    expect(paths).toHaveLength(1 + stack.fleets.internalLoadBalancer.endpoints.length + 2 * servers);
    expect(servers).toBe(2 + stack.fleets.fleets.length - 1);
  });

  test.each(paths.map((p) => [p.name, p] as const))('%s', (_name, path) => {
    expect(pathProblems(template, path)).toEqual([]);
  });
});

describe('pathProblems', () => {
  const { stack, template } = buildEnvironment('staging');
  const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as never);
  const small = id(stack.fleets.fleet('small').instanceSecurityGroup);
  const proxy = id(stack.routingProxy.service.securityGroup);

  test('reports both missing sides of a path nothing opened', () => {
    expect(pathProblems(template, { name: 'proxy -> small', client: proxy, server: small, port: Ports.tierVllm })).toEqual([
      `proxy -> small: client ${proxy} has no egress rule to ${small} on ${Ports.tierVllm}`,
      `proxy -> small: server ${small} has no ingress rule from ${proxy} on ${Ports.tierVllm}`,
    ]);
  });

  test('a port outside the opened range is blocked', () => {
    const internalLb = id(stack.fleets.internalLoadBalancer.securityGroup);
    expect(pathProblems(template, { name: 'x', client: proxy, server: internalLb, port: 22 })).toHaveLength(2);
  });
});
