import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';

/**
 * Cold start: each `functions/<name>/handler.ts` bundled with esbuild the way infra/ deploys it
 * (house-function.ts: ESM, minified, AWS SDK bundled, the `require` shim banner, module/main
 * fields, a linked source map, run with NODE_OPTIONS=--enable-source-maps; target node20 here
 * because the bench runs on the local Node), and once more with the AWS
 * SDK left external (the runtime-provided SDK alternative), then the wall time from
 * spawning `node` to the bundle's `handler` export being a function, against a bare `node` that
 * does nothing, median of several runs. The bundle is imported only: handlers build their
 * dependencies on the first invocation, which needs AWS and is not part of this figure.
 */
const ESM_REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** The NODE_OPTIONS infra/ sets on every function (house-function.ts); bare node runs with it too. */
const DEPLOYED_NODE_OPTIONS = '--enable-source-maps';

export type BundleVariant = 'sdk-bundled' | 'sdk-external';

export interface BundleFigure {
  name: string;
  /**
   * `sdk-bundled`: as infra/ deploys it. `sdk-external`: the alternative of using the Lambda
   * runtime's AWS SDK (resolved here from node_modules), to show what the bundling choice costs.
   */
  variant: BundleVariant;
  bytes: number;
  /** The linked `.map` file shipped next to the bundle (read at start with --enable-source-maps). */
  sourceMapBytes: number;
  /** Bytes of the bundle's inputs by package (own code = "functions"), largest first. */
  bytesByPackage: Array<{ package: string; bytes: number }>;
  medianReadyMs: number;
  /** medianReadyMs / the bare process's median. */
  ratioToBareNode: number;
  /** Time to the handler, measured inside the child (performance.now() at ready). */
  medianInProcessMs: number;
}

export interface ColdStartResult {
  runs: number;
  bareNodeMedianMs: number;
  bundles: BundleFigure[];
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function packageOf(input: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (m)
    return m[1]!.startsWith('@smithy') || m[1]!.startsWith('@aws-crypto') ? '@smithy+@aws-crypto' : m[1]!;
  return input.split('/')[0] ?? input;
}

function breakdown(metafile: Metafile, outFile: string): BundleFigure['bytesByPackage'] {
  const output = Object.entries(metafile.outputs).find(([path]) => path.endsWith(outFile))?.[1];
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const key = packageOf(input);
    totals.set(key, (totals.get(key) ?? 0) + bytesInOutput);
  }
  return [...totals.entries()]
    .map(([pkg, bytes]) => ({ package: pkg, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 6);
}

function timeProcess(args: string[]): { wallMs: number; inProcessMs: number | undefined } {
  const t0 = performance.now();
  const child = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: DEPLOYED_NODE_OPTIONS },
  });
  const wallMs = performance.now() - t0;
  if (child.status !== 0) throw new Error(`cold start run failed: ${child.stderr.slice(0, 500)}`);
  const m = /READY (\d+(?:\.\d+)?)/.exec(child.stdout);
  return { wallMs, inProcessMs: m ? Number(m[1]) : undefined };
}

export async function measureColdStart(
  root: string,
  runs = 7,
  log: (line: string) => void = () => {},
): Promise<ColdStartResult> {
  const functionsDir = join(root, 'functions');
  const names = readdirSync(functionsDir).filter(
    (n) => n !== 'core' && existsSync(join(functionsDir, n, 'handler.ts')),
  );
  // Under node_modules/ so the sdk-external variant resolves @aws-sdk/* from the project's packages.
  const cacheDir = join(root, 'node_modules', '.cache');
  mkdirSync(cacheDir, { recursive: true });
  const outDir = mkdtempSync(join(cacheDir, 'bench-bundles-'));
  try {
    const bare: number[] = [];
    const bundles: BundleFigure[] = [];
    const built: Array<{
      key: string;
      name: string;
      variant: BundleVariant;
      file: string;
      bytes: number;
      sourceMapBytes: number;
      packages: BundleFigure['bytesByPackage'];
    }> = [];
    const jobs = names.flatMap((name) =>
      (['sdk-bundled', 'sdk-external'] as const).map((variant) => ({ name, variant })),
    );
    for (const { name, variant } of jobs) {
      log(`cold start: bundling ${name} (${variant})`);
      const key = `${name}.${variant}`;
      const file = join(outDir, `${key}.mjs`);
      const result = await build({
        entryPoints: [join(functionsDir, name, 'handler.ts')],
        outfile: file,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        mainFields: ['module', 'main'],
        banner: { js: ESM_REQUIRE_SHIM },
        minify: true,
        // As infra/ ships it: a linked source map next to the bundle, loaded at start because
        // the function runs with NODE_OPTIONS=--enable-source-maps.
        sourcemap: 'linked',
        sourcesContent: false,
        metafile: true,
        logLevel: 'silent',
        ...(variant === 'sdk-external' ? { external: ['@aws-sdk/*', '@smithy/*', '@aws-crypto/*'] } : {}),
      });
      built.push({
        key,
        name,
        variant,
        file,
        bytes: statSync(file).size,
        sourceMapBytes: statSync(`${file}.map`).size,
        packages: breakdown(result.metafile, `${key}.mjs`),
      });
    }
    log(`cold start: ${runs} runs of bare node and of each bundle`);
    const samples = new Map<string, { wall: number[]; inside: number[] }>(
      built.map((b) => [b.key, { wall: [], inside: [] }]),
    );
    // Interleaved, so a noisy moment on the machine hits every candidate alike.
    for (let i = 0; i < runs; i++) {
      bare.push(timeProcess(['-e', '']).wallMs);
      for (const b of built) {
        const script =
          `const m = await import(${JSON.stringify(pathToFileURL(b.file).href)});` +
          `if (typeof m.handler !== 'function') process.exit(3);` +
          `process.stdout.write('READY ' + performance.now());`;
        const { wallMs, inProcessMs } = timeProcess(['--input-type=module', '-e', script]);
        samples.get(b.key)!.wall.push(wallMs);
        if (inProcessMs !== undefined) samples.get(b.key)!.inside.push(inProcessMs);
      }
    }
    const bareMedian = median(bare);
    for (const b of built) {
      const s = samples.get(b.key)!;
      const ready = median(s.wall);
      bundles.push({
        name: b.name,
        variant: b.variant,
        bytes: b.bytes,
        sourceMapBytes: b.sourceMapBytes,
        bytesByPackage: b.packages,
        medianReadyMs: ready,
        ratioToBareNode: ready / bareMedian,
        medianInProcessMs: median(s.inside),
      });
    }
    return { runs, bareNodeMedianMs: bareMedian, bundles };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
