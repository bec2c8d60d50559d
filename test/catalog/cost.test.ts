import { compareWorkload, fleetCost, impliedTokensPerSecond } from '../../lib/catalog/cost';

describe('fleet cost', () => {
  test('monthly cost is $/h x instances x 730 h', () => {
    const c = fleetCost({ instanceType: 'g6e.4xlarge', minCapacity: 1, maxCapacity: 4 });
    expect(c.usdPerHourEach).toBe(3.00424);
    expect(c.usdPerMonthMin).toBeCloseTo(2193.0952, 4);
    expect(c.usdPerMonthMax).toBeCloseTo(8772.3808, 4);
  });

  test('implied throughput turns a token price back into tokens per second', () => {
    // $1.861/h / $0.00026 per 1k tokens = 7,157,692 tokens/h = 1,988.2 tokens/s
    expect(impliedTokensPerSecond(1.861, 0.00026)).toBeCloseTo(1988.25, 1);
  });
});

describe('workload comparison', () => {
  const tiers = [
    { name: 'small', instanceType: 'g6e.xlarge', minCapacity: 2, maxCapacity: 8, pricePer1kOutputTokensUsd: 0.00026 },
    { name: 'large', instanceType: 'g6e.4xlarge', minCapacity: 1, maxCapacity: 4, pricePer1kOutputTokensUsd: 0.0056 },
  ];
  const router = { instanceType: 'g6e.xlarge', minCapacity: 2, maxCapacity: 4 };

  test('10M requests x 500 tokens at 15% large, computed by hand', () => {
    const c = compareWorkload(tiers, router, { requestsPerMonth: 10_000_000, outputTokensPerRequest: 500, largeShare: 0.15 });
    // all large: 5e9 tokens = 5e6 x 1k tokens x $0.0056 = $28,000 (above the $2,193.10 floor)
    expect(c.allLarge.totalUsd).toBeCloseTo(28_000, 6);
    // routed large: 0.75e9 tokens x $0.0056/1k = $4,200
    expect(c.routed.tiers[1].usd).toBeCloseTo(4_200, 6);
    // routed small: 4.25e9 tokens x $0.00026/1k = $1,105, below its floor 2 x 1.861 x 730 = $2,717.06
    expect(c.routed.tiers[0].tokenUsd).toBeCloseTo(1_105, 6);
    expect(c.routed.tiers[0].usd).toBeCloseTo(2_717.06, 6);
    expect(c.routed.routerUsd).toBeCloseTo(2_717.06, 6);
    expect(c.routed.totalUsd).toBeCloseTo(9_634.12, 6);
    expect(c.savingsFraction).toBeCloseTo(1 - 9_634.12 / 28_000, 9);
  });

  test('a tier with no traffic still pays its min capacity', () => {
    const c = compareWorkload(tiers, router, { requestsPerMonth: 1, outputTokensPerRequest: 1, largeShare: 0 });
    expect(c.routed.tiers[1].requests).toBe(0);
    expect(c.routed.tiers[1].usd).toBeCloseTo(2193.0952, 4);
  });
});
