import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { renderSvg, svgToPng, writeChart } from '../../tools/charts/render';

const lineChart = {
  title: { text: 'Queue wait' },
  xAxis: { type: 'category', data: ['00:00', '06:00', '12:00'] },
  yAxis: { type: 'value', name: 'ms' },
  series: [{ type: 'line', name: 'p95', data: [10, 40, 25] }],
};

describe('chart rendering', () => {
  it('renders an ECharts option to an SVG document with its title and series', () => {
    const svg = renderSvg(lineChart, { width: 400, height: 300 });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('width="400"');
    expect(svg).toContain('Queue wait');
    expect(svg).toMatch(/<path[^>]*d="M/);
  });

  it('rasterizes to a PNG of the same size, with the text drawn from the bundled font', () => {
    const svg = renderSvg(lineChart, { width: 400, height: 300 });
    const png = svgToPng(svg);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(400);
    expect(png.readUInt32BE(20)).toBe(300);
    const untitled = svgToPng(renderSvg({ ...lineChart, title: { text: '' } }, { width: 400, height: 300 }));
    // The title's glyphs add pixels, so the PNG with it differs from the one without.
    expect(png.equals(untitled)).toBe(false);
  });

  it('writes <base>.svg and <base>.png', () => {
    const base = path.join(mkdtempSync(path.join(tmpdir(), 'charts-')), 'sub', 'wait');
    const out = writeChart(lineChart, base, { width: 320, height: 200 });
    expect(out).toEqual({ svg: `${base}.svg`, png: `${base}.png` });
    expect(readFileSync(out.svg, 'utf8')).toContain('<svg');
    expect(readFileSync(out.png).subarray(1, 4).toString('latin1')).toBe('PNG');
  });
});
