/**
 * Bundles the command line into one file, dist/bin.js (replacing the compiled entry point): the workspace packages
 * and their pure-JavaScript dependencies are inlined, so that a one-shot call loads one module instead of ~350
 * (module resolution and loading were a third of `attribution explain`'s start-up). The packages the CLI itself
 * depends on (ONNX Runtime with its native binaries, commander, cli-progress, npyjs) stay imports. The compiled
 * modules next to it (dist/cli.js, …) remain the package's library entry.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import * as esbuild from 'esbuild';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(fs.readFileSync(path.join(cli, 'package.json'), 'utf8'));
// The gradient builder inlined here names itself in the gradient-model cache key (see @attribution/onnx's node-fs.ts).
const builder = path.join(path.dirname(fileURLToPath(import.meta.resolve('@attribution/onnx-grad'))), 'build-fingerprint.txt');
const builderPrint = `build:${fs.readFileSync(builder, 'utf8').trim()}`;
const own = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).filter((d) => !d.startsWith('@attribution/'));

await esbuild.build({
  entryPoints: [path.join(cli, 'src/bin.ts')],
  outfile: path.join(cli, 'dist/bin.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require() for Node's built-in modules.
  banner: { js: "import { createRequire as __attributionRequire } from 'node:module';\nconst require = __attributionRequire(import.meta.url);" },
  external: own.flatMap((d) => [d, `${d}/*`]),
  define: { __ATTRIBUTION_BUILDER__: JSON.stringify(builderPrint) },
});
