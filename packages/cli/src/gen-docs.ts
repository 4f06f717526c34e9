/**
 * Regenerates the flag tables of docs/cli.md from the commander program: `pnpm --filter @attribution/cli
 * gen-docs` (builds the CLI, then runs this). With `--check` it only reports whether the file is up to date
 * (exit 1 when not); the CLI's tests make the same check.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { program } from './cli.js';
import { renderFlagTables } from './docs.js';

const file = fileURLToPath(new URL('../../../docs/cli.md', import.meta.url));
const before = fs.readFileSync(file, 'utf8');
const after = renderFlagTables(before, program());
if (process.argv.includes('--check')) {
  if (after !== before) {
    process.stderr.write(`${file} is out of date: run pnpm --filter @attribution/cli gen-docs\n`);
    process.exitCode = 1;
  }
} else if (after !== before) {
  fs.writeFileSync(file, after);
  process.stdout.write(`wrote the flag tables of ${file}\n`);
} else {
  process.stdout.write(`${file} is up to date\n`);
}
