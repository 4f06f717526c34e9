#!/usr/bin/env node
/**
 * `pnpm attribution …` at the repository root (the root package.json's "attribution" script) runs this file: the
 * CLI from packages/cli/dist, in this process, without turbo's start-up when the build is fresh. It builds
 * first (turbo, output on stderr) only when a source file of the CLI or of a workspace package it depends on
 * is newer than that package's build. Relative paths resolve from the folder pnpm was run in: pnpm runs root
 * scripts in the repository root and passes the caller's folder as INIT_CWD.
 *
 * ATTRIBUTION_NO_BUILD=1 skips the check (the tests set it, so that they never build).
 *
 * Plain JavaScript, so that it runs before anything is built.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(cli, '../..');

/** The newest modification time of the files under `location` (0 when there are none). */
function newest(location) {
  let info;
  try {
    info = fs.statSync(location);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let time = 0;
  for (const entry of fs.readdirSync(location)) if (entry !== 'node_modules') time = Math.max(time, newest(path.join(location, entry)));
  return time;
}

/** The workspace packages by name: their folder and package.json. */
function workspacePackages() {
  const found = new Map();
  const folder = path.join(root, 'packages');
  for (const name of fs.existsSync(folder) ? fs.readdirSync(folder) : []) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(folder, name, 'package.json'), 'utf8'));
      found.set(pkg.name, { dir: path.join(folder, name), pkg });
    } catch {
      // Not a package.
    }
  }
  return found;
}

/**
 * Written after a build this file started: turbo, finding its cache valid after a mere change of modification
 * times (a checkout), writes nothing, and the sources would otherwise look newer than the build every time.
 */
const stamp = path.join(cli, 'dist', '.launch-built');

/** Whether the CLI or a workspace package it depends on (transitively) has sources newer than its dist. */
function stale() {
  const stamped = newest(stamp);
  const packages = workspacePackages();
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return false;
    seen.add(name);
    const entry = packages.get(name);
    if (!entry) return false;
    const { dir, pkg } = entry;
    if (pkg.scripts?.build) {
      const built = newest(path.join(dir, 'dist'));
      const sources = Math.max(newest(path.join(dir, 'src')), newest(path.join(dir, 'package.json')), newest(path.join(dir, 'tsconfig.json')), newest(path.join(dir, 'tsconfig.build.json')));
      if (built === 0 || sources > Math.max(built, stamped)) return true;
    }
    const deps = { ...pkg.dependencies, ...pkg.peerDependencies };
    return Object.entries(deps).some(([dep, range]) => String(range).startsWith('workspace:') && visit(dep));
  };
  return visit('@attribution/cli');
}

if (process.env.ATTRIBUTION_NO_BUILD !== '1' && stale()) {
  process.stderr.write('attribution: building the CLI (its sources changed)…\n');
  const windows = process.platform === 'win32';
  const build = spawnSync(windows ? 'turbo.cmd' : 'turbo', ['run', 'build', '--filter=@attribution/cli...', '--output-logs=errors-only'], {
    cwd: root,
    // The build's output goes to stderr: stdout is the command's (JSON with --out -, a pipe to head).
    stdio: ['ignore', process.stderr, process.stderr],
    shell: windows,
  });
  if (build.status !== 0) {
    process.stderr.write(`attribution: the build failed${build.error ? ` (${build.error.message})` : ''}; see above\n`);
    process.exit(build.status ?? 1);
  }
  fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
}

// Run as a package script (pnpm attribution …): resolve relative paths from the caller's folder, not the root.
const caller = process.env.npm_lifecycle_event ? process.env.INIT_CWD : undefined;
if (caller && fs.existsSync(caller)) process.chdir(caller);

await import(pathToFileURL(path.join(cli, 'dist', 'bin.js')).href);
