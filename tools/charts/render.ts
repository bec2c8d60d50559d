/**
 * Charts of the command-line tools (fleet simulator, routing evaluation): an Apache ECharts option
 * rendered on the server to SVG, and the SVG rasterized to PNG with resvg. The PNG uses the DejaVu
 * Sans font shipped in an npm package, so it renders the same on a machine without system fonts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as echarts from 'echarts';
import { Resvg } from '@resvg/resvg-js';

/** Font every chart uses: the SVG names it, the PNG embeds it. */
export const CHART_FONT_FAMILY = 'DejaVu Sans';

/** Pixel size of a chart. */
export interface ChartSize {
  readonly width: number;
  readonly height: number;
}

/** Default size: readable in a README at full width. */
export const DEFAULT_CHART_SIZE: ChartSize = { width: 1000, height: 560 };

function fontFiles(): string[] {
  const dir = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => path.join(dir, f));
}

/**
 * Renders an ECharts option to an SVG document. Animation is off and the chart is disposed, so
 * nothing keeps the process alive afterwards.
 */
export function renderSvg(option: echarts.EChartsCoreOption, size: ChartSize = DEFAULT_CHART_SIZE): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: size.width, height: size.height });
  try {
    chart.setOption({
      animation: false,
      backgroundColor: '#ffffff',
      textStyle: { fontFamily: CHART_FONT_FAMILY },
      ...option,
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** Rasterizes an SVG document to PNG bytes at `scale` times its size. */
export function svgToPng(svg: string, scale = 1): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
    background: '#ffffff',
    font: { fontFiles: fontFiles(), loadSystemFonts: false, defaultFontFamily: CHART_FONT_FAMILY },
  });
  return resvg.render().asPng();
}

/** The two files a chart was written to. */
export interface WrittenChart {
  readonly svg: string;
  readonly png: string;
}

/**
 * Writes `<base>.svg` and `<base>.png` (creating the folder) and returns their paths. `base` is a
 * path without extension.
 */
export function writeChart(option: echarts.EChartsCoreOption, base: string, size: ChartSize = DEFAULT_CHART_SIZE): WrittenChart {
  mkdirSync(path.dirname(base), { recursive: true });
  const svg = renderSvg(option, size);
  const out = { svg: `${base}.svg`, png: `${base}.png` };
  writeFileSync(out.svg, svg);
  writeFileSync(out.png, svgToPng(svg));
  return out;
}
