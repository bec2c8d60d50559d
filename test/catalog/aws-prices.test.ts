import { fargateTaskUsdPerHour, fixedNetworkUsdPerHour } from '../../lib/catalog/aws-prices';

describe('non-GPU price estimates (us-east-1)', () => {
  test('a Fargate task costs its vCPUs and its GB of memory', () => {
    // 1 vCPU x 0.04048 + 2 GB x 0.004445
    expect(fargateTaskUsdPerHour(1024, 2048)).toBeCloseTo(0.04937, 9);
    // 0.25 vCPU x 0.04048 + 0.5 GB x 0.004445
    expect(fargateTaskUsdPerHour(256, 512)).toBeCloseTo(0.0123425, 9);
  });

  test('load balancers, NAT gateways and public IPv4 addresses by the hour', () => {
    expect(fixedNetworkUsdPerHour({ loadBalancers: 2, natGateways: 3, publicIpv4Addresses: 6 })).toBeCloseTo(0.045 + 0.135 + 0.03, 9);
    expect(fixedNetworkUsdPerHour({ loadBalancers: 0, natGateways: 0, publicIpv4Addresses: 0 })).toBe(0);
  });
});
