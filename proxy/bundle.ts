/**
 * Bundles the routing proxy into one file with esbuild. The image build runs this file
 * (`tsx proxy/bundle.ts <outfile>`) and the tests call `bundleProxy`, so both use the
 * same options. Keep it free of aws-cdk-lib imports: the image build copies only this file.
 */
import * as path from 'node:path';
import { build, BuildOptions, Metafile } from 'esbuild';

/** Node major version of the runtime image (proxy/Dockerfile). */
export const PROXY_NODE_TARGET = 'node22';

/**
 * `NODE_OPTIONS` of the proxy image (proxy/Dockerfile sets it; the benchmark starts the bundle with
 * it). An explicit old-space ceiling, half of the default 2 GiB task, also makes V8 grow the heap in
 * small steps (factor ~1.6 instead of 4 on a machine with plenty of memory): under load the heap
 * stays near its live size instead of filling with garbage promoted from in-flight streams.
 */
export const PROXY_NODE_OPTIONS = '--max-old-space-size=1024';

/** Proxy entry point, relative to the repository root. */
const ENTRY = 'proxy/src/main.ts';

/** The esbuild options of the proxy bundle written to `outfile`. */
export function proxyBundleOptions(repositoryRoot: string, outfile: string): BuildOptions {
  return {
    absWorkingDir: repositoryRoot,
    entryPoints: [path.join(repositoryRoot, ENTRY)],
    outfile,
    bundle: true,
    platform: 'node',
    target: PROXY_NODE_TARGET,
    format: 'cjs',
    minify: false,
    // Stack traces map to file and line, but the map ships no source text.
    sourcemap: 'external',
    sourcesContent: false,
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  };
}

/** Bundles the proxy into `outfile`; returns esbuild's metafile (inputs and imports). */
export async function bundleProxy(repositoryRoot: string, outfile: string): Promise<Metafile> {
  const result = await build(proxyBundleOptions(repositoryRoot, outfile));
  return result.metafile as Metafile;
}

if (require.main === module) {
  const outfile = process.argv[2];
  if (!outfile) {
    process.stderr.write('usage: tsx proxy/bundle.ts <outfile>\n');
    process.exit(2);
  }
  bundleProxy(process.cwd(), path.resolve(outfile)).catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
