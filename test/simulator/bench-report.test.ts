import { mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { quantile } from '../../tools/bench/load';
import { RunSample, evaluate, formatReport, median, summarize } from '../../tools/bench/report';
import { parseWrkOutput, writeWrkScript } from '../../tools/bench/wrk';

const sample = (s: Partial<RunSample> & Pick<RunSample, 'target' | 'concurrency'>): RunSample => ({
  rps: 1000,
  p50Ms: 100,
  p99Ms: 110,
  failed: 0,
  ...s,
});

describe('benchmark figures', () => {
  test('median and nearest-rank quantile', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(Number.isNaN(median([]))).toBe(true);
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(sorted, 0.5)).toBe(50);
    expect(quantile(sorted, 0.99)).toBe(99);
  });

  test('summary takes medians over rounds and differences against direct and nginx', () => {
    const samples: RunSample[] = [
      ...[100, 101, 150].map((p99) => sample({ target: 'direct', concurrency: 64, p50Ms: 100, p99Ms: p99 })),
      ...[0.2, 0.25, 0.3].map((cpu) => sample({ target: 'nginx', concurrency: 64, cpuMsPerReq: cpu, p99Ms: 102 })),
      ...[0.4, 0.5, 0.9].map((cpu, i) => sample({ target: 'bypass', concurrency: 64, cpuMsPerReq: cpu, p99Ms: 103, peakRssMiB: 90 + i })),
    ];
    const { rows, ttfb } = summarize(samples, [
      { target: 'direct', medianMs: 0.2 },
      { target: 'bypass', medianMs: 0.5 },
    ], 20);
    const bypass = rows.find((r) => r.target === 'bypass')!;
    expect(bypass.rounds).toBe(3);
    expect(bypass.cpuMsPerReq).toBe(0.5);
    expect(bypass.cpuUsPerChunk).toBeCloseTo(25);
    expect(bypass.cpuVsNginx).toBeCloseTo(2);
    expect(bypass.addedP99Ms).toBe(2); // 103 - median(100, 101, 150)
    expect(rows.find((r) => r.target === 'direct')!.p99RangeMs).toEqual([100, 150]);
    expect(bypass.p99RangeMs).toEqual([103, 103]);
    expect(bypass.peakRssMiB).toBe(92);
    expect(ttfb.find((t) => t.target === 'bypass')!.addedMs).toBeCloseTo(0.3);
  });

  test('a second proxy runtime (B) gets its own rows, compared with the same direct and nginx runs', () => {
    const { rows } = summarize(
      [
        sample({ target: 'direct', concurrency: 64, p99Ms: 100 }),
        sample({ target: 'nginx', concurrency: 64, cpuMsPerReq: 0.4 }),
        sample({ target: 'bypass', concurrency: 64, cpuMsPerReq: 0.6, p99Ms: 102 }),
        sample({ target: 'bypassB', concurrency: 64, cpuMsPerReq: 0.5, p99Ms: 104 }),
      ],
      [],
      20,
    );
    expect(rows.map((r) => r.target)).toEqual(['direct', 'nginx', 'bypass', 'bypassB']);
    const b = rows.find((r) => r.target === 'bypassB')!;
    expect(b.cpuVsNginx).toBeCloseTo(1.25);
    expect(b.addedP99Ms).toBe(4);
  });

  test('targets pass within the limits, fail beyond them, and are skipped when not measured', () => {
    const good = summarize(
      [
        sample({ target: 'direct', concurrency: 64 }),
        sample({ target: 'nginx', concurrency: 64, cpuMsPerReq: 0.4 }),
        sample({ target: 'bypass', concurrency: 64, cpuMsPerReq: 0.6, p99Ms: 112, peakRssMiB: 100 }),
        sample({ target: 'scored', concurrency: 64, rps: 500, cpuMsPerReq: 0.8, peakRssMiB: 120 }),
        sample({ target: 'direct', concurrency: 256 }),
        sample({ target: 'bypass', concurrency: 256, peakRssMiB: 150 }),
      ],
      [{ target: 'direct', medianMs: 0.2 }, { target: 'bypass', medianMs: 0.6 }],
      20,
    );
    const checks = evaluate(good.rows, good.ttfb);
    expect(checks.map((c) => c.status)).toEqual(['PASS', 'PASS', 'PASS', 'PASS', 'PASS']);
    // 1.5x nginx is the line; routed requests per core are 1000 / CPU ms per request, at c=64.
    expect(checks[0].measured).toBe('1.50x (0.600 vs 0.400 ms)');
    expect(checks[3].measured).toBe('1250 req/s per core (0.800 CPU ms per request)');
    expect(checks[4].name).toBe('proxy peak RSS at c=256 <= 150 MiB');
    // The added p99 comes with the rounds' spread and nginx's own figure, to judge it by.
    expect(checks[1].measured).toBe("2.00 ms (rounds' p99 ms: direct 110.00-110.00, bypassed 112.00-112.00; nginx +p99 0.00 ms)");

    const bad = summarize(
      [
        sample({ target: 'direct', concurrency: 64 }),
        sample({ target: 'nginx', concurrency: 64, cpuMsPerReq: 0.2 }),
        sample({ target: 'bypass', concurrency: 64, cpuMsPerReq: 0.5, p99Ms: 114, peakRssMiB: 200 }),
        sample({ target: 'scored', concurrency: 64, rps: 900, cpuMsPerReq: 0.84 }),
      ],
      [{ target: 'direct', medianMs: 0.2 }, { target: 'bypass', medianMs: 0.8 }],
      20,
    );
    expect(evaluate(bad.rows, bad.ttfb).map((c) => c.status)).toEqual(['MISS', 'MISS', 'MISS', 'MISS', 'MISS']);

    const onlyDirect = summarize([sample({ target: 'direct', concurrency: 64 })], [{ target: 'direct', medianMs: 0.2 }], 20);
    expect(evaluate(onlyDirect.rows, onlyDirect.ttfb).every((c) => c.status === 'SKIP')).toBe(true);
  });

  test('the printed table has one row per target and concurrency and the verdicts', () => {
    const { rows, ttfb } = summarize(
      [sample({ target: 'direct', concurrency: 64 }), sample({ target: 'nginx', concurrency: 64, cpuMsPerReq: 0.3 })],
      [{ target: 'direct', medianMs: 0.2 }],
      20,
    );
    const text = formatReport(rows, ttfb, evaluate(rows, ttfb));
    expect(text).toMatch(/^direct to simulator\s+64\s+1000/m);
    expect(text).toMatch(/^nginx reverse proxy\s+64/m);
    expect(text).toMatch(/SKIP\s+bypassed: proxy CPU\/request at c=64 <= 1.5x nginx/);
  });

  test('the CPU split table shows user and kernel time per request, and user time against nginx', () => {
    const { rows, ttfb } = summarize(
      [
        sample({ target: 'direct', concurrency: 64 }),
        ...[0.3, 0.4, 0.5].map((cpu) => sample({ target: 'nginx', concurrency: 64, cpuMsPerReq: cpu, systemMsPerReq: 0.3 })),
        ...[0.6, 0.7, 0.8].map((cpu, i) => sample({ target: 'bypass', concurrency: 64, cpuMsPerReq: cpu, systemMsPerReq: [0.3, 0.31, 0.29][i] })),
      ],
      [],
      20,
    );
    expect(rows.find((r) => r.target === 'bypass')!.systemMsPerReq).toBe(0.3);
    const text = formatReport(rows, ttfb, evaluate(rows, ttfb));
    // user = median CPU - median system: nginx 0.4 - 0.3, proxy 0.7 - 0.3 (4x nginx's).
    expect(text).toMatch(/^CPU per request\s+c\s+user ms\s+system ms\s+user vs nginx$/m);
    expect(text).toMatch(/^nginx reverse proxy\s+64\s+0\.100\s+0\.300\s+-$/m);
    expect(text).toMatch(/^proxy, routing bypassed\s+64\s+0\.400\s+0\.300\s+4\.0x$/m);
    // Without system times the table is left out.
    const none = summarize([sample({ target: 'nginx', concurrency: 64, cpuMsPerReq: 0.3 })], [], 20);
    expect(formatReport(none.rows, none.ttfb, evaluate(none.rows, none.ttfb))).not.toMatch(/CPU per request/);
  });

  test('wrk script carries the bodies and headers, and its result line parses', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wrk-script-'));
    const file = path.join(dir, 's.lua');
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'a ]] b ]=] c' }] });
    writeWrkScript(file, { url: 'http://127.0.0.1:1/v1/chat/completions', connections: 1, durationS: 1, bodies: [body], headers: { authorization: 'Bearer k' } });
    const lua = readFileSync(file, 'utf8');
    expect(lua).toContain(`[==[${body}]==]`);
    expect(lua).toContain('wrk.headers[ [=[authorization]=] ] = [=[Bearer k]=]');
    expect(lua).toContain('wrk.format("POST", [=[/v1/chat/completions]=], nil, b)');
    const out = 'Running 1s test\nWRKJSON {"requests":10,"durationUs":1000000,"non2xx":1,"errors":0,"timeouts":0,"p50Us":1500,"p99Us":2500,"meanUs":1600.5}\n';
    expect(parseWrkOutput(out)).toMatchObject({ requests: 10, non2xx: 1, p99Us: 2500 });
    expect(() => parseWrkOutput('nothing')).toThrow(/no result line/);
  });
});
