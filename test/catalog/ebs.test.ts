import { gp3PerformanceUsdPerHour, gp3Problems } from '../../lib/catalog/ebs';
import { ROOT_VOLUME_EXTRA_USD_PER_HOUR } from '../../lib/config/defaults';

describe('gp3 root volume cost and limits', () => {
  test('only performance above the free 3,000 IOPS and 125 MiB/s is billed', () => {
    expect(gp3PerformanceUsdPerHour(125, 3000)).toBe(0);
    // (250 - 125) MiB/s x $0.04 = $5.00 per month; (4000 - 3000) IOPS x $0.005 = $5.00 per month.
    expect(gp3PerformanceUsdPerHour(250, 3000)).toBeCloseTo(5 / 730, 12);
    expect(gp3PerformanceUsdPerHour(250, 4000)).toBeCloseTo(10 / 730, 12);
    expect(ROOT_VOLUME_EXTRA_USD_PER_HOUR).toBeCloseTo(0.00685, 5);
  });

  test('throughput at most 0.25 MiB/s per IOPS, IOPS at most 500 per GiB', () => {
    expect(gp3Problems(100, 750, 3000)).toEqual([]);
    expect(gp3Problems(100, 751, 3000).map(([field]) => field)).toEqual(['rootVolumeThroughputMiBps']);
    expect(gp3Problems(100, 2000, 8000)).toEqual([]);
    expect(gp3Problems(10, 125, 5001).map(([field]) => field)).toEqual(['rootVolumeIops']);
  });
});
