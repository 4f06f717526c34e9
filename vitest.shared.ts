import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDefaults, type UserWorkspaceConfig } from 'vitest/config';

const root = path.dirname(fileURLToPath(import.meta.url));

/** Maps every workspace package to its TypeScript source, so tests need no build. */
function sourceAliases(): Record<string, string> {
  const aliases: Record<string, string> = {};
  for (const dir of ['packages', 'apps']) {
    const base = path.join(root, dir);
    if (!fs.existsSync(base)) continue;
    for (const entry of fs.readdirSync(base)) {
      const pkgFile = path.join(base, entry, 'package.json');
      const src = path.join(base, entry, 'src', 'index.ts');
      if (!fs.existsSync(pkgFile) || !fs.existsSync(src)) continue;
      const { name } = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { name: string };
      aliases[name] = src;
    }
  }
  return aliases;
}

/**
 * Projects whose test files share worker processes (`isolate: false`): a file runs in a process that earlier
 * files of the same project used, so ONNX Runtime, onnxruntime-web's wasm, TensorFlow.js and the sources are
 * loaded and compiled once per worker, not once per file (a fresh process per file cost 1–2 s each, a third of
 * the suite). Their files were checked not to depend on a fresh process: none changes process-wide state that
 * another reads (every file that uses TensorFlow.js sets its backend itself; ONNX Runtime is configured the same
 * everywhere; process.chdir is undone), and each project passes with its files in any order
 * (`--sequence.shuffle.files`). A file that does change process-wide state is listed in `ownProcess` and runs
 * in a fresh process of its own, in a separate project named `<project>:own-process`.
 * Projects not listed here keep a fresh process per file.
 */
const SHARED_PROCESS: Readonly<Record<string, { readonly dir: string; readonly ownProcess: readonly string[] }>> = {
  // custom-rule-example registers rules for com.microsoft Inverse and FusedMatMul, which operator-table
  // checks the library does not have.
  'onnx-grad': { dir: 'packages/onnx-grad', ownProcess: ['test/custom-rule-example.test.ts'] },
  onnx: { dir: 'packages/onnx', ownProcess: [] },
  conformance: { dir: 'packages/conformance', ownProcess: [] },
  primary: { dir: 'packages/primary', ownProcess: [] },
  metrics: { dir: 'packages/metrics', ownProcess: [] },
  neuron: { dir: 'packages/neuron', ownProcess: [] },
  robust: { dir: 'packages/robust', ownProcess: [] },
  // no-fs mocks #node-fs (the browser build's file access) for its whole module graph.
  concept: { dir: 'packages/concept', ownProcess: ['test/no-fs.test.ts'] },
};

/**
 * Tests run in Node on the sources: the `attribution-source` condition picks the `.ts` side of the packages'
 * `imports` maps (`#node-fs`), next to Vite's default server conditions.
 */
const ssr = { resolve: { conditions: ['attribution-source', 'module', 'node', 'development|production'] } };

/**
 * For a project whose package resolves `@tensorflow/tfjs-core`: vitest.tfjs-setup.ts, which keeps tfjs's
 * "running TensorFlow.js in Node.js" banner out of the test output, and the tfjs-core it is to configure.
 */
function tfjsSetup(name: string): Pick<NonNullable<UserWorkspaceConfig['test']>, 'setupFiles' | 'env'> {
  for (const dir of ['packages', 'apps', '.']) {
    const pkg = path.join(root, dir, name, 'package.json');
    if (!fs.existsSync(pkg)) continue;
    try {
      const core = createRequire(pkg).resolve('@tensorflow/tfjs-core');
      return { setupFiles: [path.join(root, 'vitest.tfjs-setup.ts')], env: { ATTRIBUTION_TFJS_CORE: core } };
    } catch {
      return {};
    }
  }
  return {};
}

/**
 * The gradient-model cache of the ONNX adapter (on by default in Node) goes to a fresh folder per test run, so
 * that tests neither read nor fill the user's `~/.cache/attribution` and every run starts cold.
 */
const TEST_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-test-cache-'));

/** tfjsSetup's settings with the test cache folder in the environment. */
function testSetup(name: string): Pick<NonNullable<UserWorkspaceConfig['test']>, 'setupFiles' | 'env'> {
  const tfjs = tfjsSetup(name);
  return { ...tfjs, env: { ...tfjs.env, XDG_CACHE_HOME: TEST_CACHE } };
}

/** The vitest project settings every package shares. */
export function sharedProjectConfig(name: string, extra: { testTimeout?: number } = {}): UserWorkspaceConfig {
  const shared = SHARED_PROCESS[name];
  return {
    resolve: { alias: sourceAliases() },
    ssr,
    test: {
      ...testSetup(name),
      name,
      include: ['test/**/*.test.ts'],
      exclude: [...configDefaults.exclude, ...(shared?.ownProcess ?? [])],
      environment: 'node',
      testTimeout: extra.testTimeout ?? 30_000,
      isolate: !shared,
    },
  };
}

/** The projects of the `ownProcess` files of {@link SHARED_PROCESS}: a fresh process per file. */
export function ownProcessProjects(): UserWorkspaceConfig[] {
  return Object.entries(SHARED_PROCESS)
    .filter(([, { ownProcess }]) => ownProcess.length > 0)
    .map(([name, { dir, ownProcess }]) => ({
      resolve: { alias: sourceAliases() },
      ssr,
      test: {
        ...testSetup(name),
        name: `${name}:own-process`,
        root: path.join(root, dir),
        include: [...ownProcess],
        environment: 'node',
        testTimeout: 30_000,
        isolate: true,
      },
    }));
}
