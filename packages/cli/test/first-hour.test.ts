import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Help, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { prefixLines } from '../src/dataset.js';
import { documentedCommands, renderFlagTables } from '../src/docs.js';
import { OutputFormatError, checkOutputFormat, program } from '../src/index.js';
import { run } from './run.js';

// What a new user meets in their first hour: misspelt flags, a bare command, --version, a picture named .jpg,
// the help text, workers' output, running the CLI from the repository, and docs that list every flag.

const here = path.dirname(fileURLToPath(import.meta.url));
const cliDir = path.join(here, '..');
const repo = path.join(cliDir, '../..');
const fixtures = path.join(cliDir, '../conformance/fixtures');
const digits = path.join(fixtures, 'real/digits_cnn.onnx');
const digit = path.join(cliDir, 'examples/digit-3.npy');
const tinyGpt = path.join(cliDir, '../text/fixtures/tiny-gpt');
const bin = path.join(cliDir, 'dist/bin.js');
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-first-hour-'));

const subcommands = (): Command[] => program().commands.filter((c) => c.name() !== 'help');
/** Placeholders for a command's positional arguments. */
const positionals = (c: Command): string[] => c.registeredArguments.map((a) => `some-${a.name()}`);

describe('unknown and misspelt options', () => {
  it("names a typo of a required option instead of saying it is missing: '--methd'", async () => {
    const r = await run('explain', digits, '--methd', 'saliency', '--input', digit);
    expect(r.code).toBe(2);
    expect(r.err).toBe("attribution explain: unknown option '--methd' (did you mean --method?). See 'attribution explain --help'.\n");
  });

  it('names it for every subcommand, with a suggestion, before required options and missing arguments are checked', async () => {
    const commands = subcommands();
    expect(commands.map((c) => c.name())).toEqual(['explain', 'explain-dataset', 'explain-text', 'attack', 'concept', 'influence', 'inspect', 'verify', 'merge', 'cache', 'demo']);
    for (const c of commands) {
      const options = new Help().visibleOptions(c).filter((o) => o.long !== undefined);
      for (const option of options) {
        const long = option.long as string;
        // Drop the second letter of the name: --method → --mthod, --help → --hlp.
        const typo = `${long.slice(0, 3)}${long.slice(4)}`;
        const argv = [c.name(), ...positionals(c), typo, ...(option.required ? ['value'] : [])];
        const r = await run(...argv);
        expect(r.code, argv.join(' ')).toBe(2);
        expect(r.err, argv.join(' ')).toBe(`attribution ${c.name()}: unknown option '${typo}' (did you mean ${long}?). See 'attribution ${c.name()} --help'.\n`);
      }
      // Before a missing argument too.
      const bare = await run(c.name(), '--no-such-flag');
      expect(bare.err, c.name()).toMatch(new RegExp(`^attribution ${c.name()}: unknown option '--no-such-flag'\\. See`));
    }
  });

  it('names an unknown subcommand with a suggestion', async () => {
    const r = await run('explian', 'm.onnx');
    expect(r.code).toBe(2);
    expect(r.err).toBe("attribution: unknown command 'explian' (did you mean explain?). See 'attribution --help'.\n");
  });

  it('still names a missing required option, once the rest is right', async () => {
    for (const [argv, flag] of [
      [['explain', digits, '--input', digit], '--method <name>'],
      [['explain-dataset', digits, '--method', 'saliency'], '--out <dir>'],
      [['explain-text', tinyGpt, '--prompt', 'x'], '--method <name>'],
    ] as const) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toBe(`attribution ${argv[0]}: required option '${flag}' not specified. See 'attribution ${argv[0]} --help'.\n`);
    }
  });
});

describe('missing arguments', () => {
  it('a bare `attribution explain` says the model is missing, and what it is', async () => {
    const r = await run('explain');
    expect(r.code).toBe(2);
    expect(r.err).toBe("attribution explain: missing argument <model>: the ONNX file to explain. See 'attribution explain --help'.\n");
  });

  it('so does every subcommand with positionals, naming the argument and its description', async () => {
    const withArguments = subcommands().filter((c) => c.registeredArguments.length > 0);
    expect(withArguments.map((c) => c.name())).toEqual(['explain', 'explain-dataset', 'explain-text', 'attack', 'concept', 'influence', 'inspect', 'verify', 'merge']);
    for (const c of withArguments) {
      const argument = c.registeredArguments[0]!;
      expect(argument.description, c.name()).not.toBe('');
      const r = await run(c.name());
      expect(r.code, c.name()).toBe(2);
      expect(r.err, c.name()).toBe(`attribution ${c.name()}: missing argument <${argument.name()}>: ${argument.description}. See 'attribution ${c.name()} --help'.\n`);
    }
  });
});

describe('--version', () => {
  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(cliDir, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = await run(flag);
      expect(r.code, flag).toBe(0);
      expect(r.out, flag).toBe(`${version}\n`);
      expect(r.err, flag).toBe('');
    }
  });
});

describe('picture formats come from the file name', () => {
  it('refuses --heatmap out.jpg (and --plot, --html with the wrong extension) before loading the model, listing what is supported', async () => {
    const dir = tmp();
    const cases: [string, string, string][] = [
      ['--heatmap', 'out.jpg', "--heatmap: expected a file name ending in .png (the formats --heatmap writes: PNG), got 'out.jpg' (.jpg)."],
      ['--heatmap', 'out', "--heatmap: expected a file name ending in .png (the formats --heatmap writes: PNG), got 'out' (no extension)."],
      ['--plot', 'bars.png', "--plot: expected a file name ending in .svg (the formats --plot writes: SVG), got 'bars.png' (.png)."],
      ['--html', 'page.txt', "--html: expected a file name ending in .html or .htm (the formats --html writes: HTML), got 'page.txt' (.txt)."],
    ];
    for (const [flag, name, message] of cases) {
      // A model that is not ONNX: the refusal comes first, so it is never read.
      fs.writeFileSync(path.join(dir, 'bad.onnx'), 'not a model');
      const r = await run('explain', path.join(dir, 'bad.onnx'), '--method', 'saliency', '--input', digit, '--target', '3', flag, path.join(dir, name));
      expect(r.code, flag).toBe(1);
      expect(r.err, flag).toBe(`attribution: ${message.replace(`'${name}'`, `'${path.join(dir, name)}'`)} Other formats are not supported; convert the ${message.match(/writes: (\w+)/)![1]} file if you need one.\n`);
      expect(fs.existsSync(path.join(dir, name)), flag).toBe(false);
    }
  });

  it('refuses them for explain-text too', async () => {
    const dir = tmp();
    for (const [flag, name] of [
      ['--plot', 'map.png'],
      ['--seq-plot', 'bars.jpg'],
      ['--html', 'page.md'],
    ]) {
      const r = await run('explain-text', tinyGpt, '--method', 'feature-ablation', '--prompt', 'a b', '--target', 'c', flag!, path.join(dir, name!));
      expect(r.code, flag).toBe(1);
      expect(r.err, flag).toMatch(new RegExp(`^attribution: ${flag}: expected a file name ending in \\.`));
    }
  });

  it('is a typed error that lists the supported extensions; the case of the extension does not matter', () => {
    const e = (() => {
      try {
        checkOutputFormat('figure.jpeg', '--heatmap');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(OutputFormatError);
    expect((e as OutputFormatError).code).toBe('ERR_OUTPUT_FORMAT');
    expect((e as OutputFormatError).supported).toEqual(['png']);
    expect((e as OutputFormatError).extension).toBe('jpeg');
    expect(() => checkOutputFormat('figure.PNG', '--heatmap')).not.toThrow();
    expect(() => checkOutputFormat('page.HTM', '--html')).not.toThrow();
    expect(() => checkOutputFormat('result.anything', '--out')).not.toThrow();
  });
});

describe('help', () => {
  it('shows each default once, and no empty-array defaults, in every subcommand', async () => {
    const help = new Help();
    for (const c of [program(), ...subcommands()]) {
      for (const option of help.visibleOptions(c)) {
        const text = help.optionDescription(option);
        expect(text, `${c.name()} ${option.flags}`).not.toMatch(/default: \[\]/);
        expect(text.match(/default/g)?.length ?? 0, `${c.name()} ${option.flags}: ${text}`).toBeLessThanOrEqual(1);
      }
      const r = await run(...(c.parent ? [c.name()] : []), '--help');
      expect(r.code).toBe(0);
      expect(r.out).not.toMatch(/\(default: \[\]\)|default zeros\) \(default/);
    }
  });

  it('still gives repeatable options an empty list when they are not given', async () => {
    // --input given once, --baseline and --feature-mask not at all: explain runs (they are [] inside).
    const r = await run('explain', digits, '--method', 'saliency', '--input', digit, '--target', '3');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('--workers output', () => {
  it('prefixes every line of a worker, however its output is split into chunks', () => {
    let out = '';
    const lines = prefixLines('[worker 1] ', (t) => (out += t));
    lines.write('saliency: 10 examples in 2 batches of 5; shard 1/2 has 1, 0 already done\nbatch 1 (1/1 of this run): ');
    lines.write('examples 5–9\n');
    lines.write('\nfailed: one\ntwo');
    lines.end();
    expect(out).toBe(
      [
        '[worker 1] saliency: 10 examples in 2 batches of 5; shard 1/2 has 1, 0 already done',
        '[worker 1] batch 1 (1/1 of this run): examples 5–9',
        '[worker 1] ',
        '[worker 1] failed: one',
        '[worker 1] two',
        '',
      ].join('\n'),
    );
  });

  it.runIf(fs.existsSync(bin))('with --workers 2, every line of the run is prefixed', async () => {
    const out = path.join(tmp(), 'results');
    const r = await run('explain-dataset', digits, '--method', 'saliency', '--target', '3', '--inputs', path.join(cliDir, 'examples/digits-3-7.npy'), '--batch-size', '1', '--workers', '2', '--limit', 'workers=2', '--out', out);
    expect(r.err, r.out).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) expect(line).toMatch(/^\[worker [01]\] /);
  }, 60_000);
});

describe('running from the repository', () => {
  it('the root script runs the launcher, which resolves relative paths from the folder pnpm was run in (INIT_CWD)', () => {
    const root = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(root.scripts.attribution).toBe('node packages/cli/src/launch.mjs');
    if (!fs.existsSync(bin)) return;
    const folder = path.dirname(digits);
    // As pnpm runs a root script: in the repository root, with the caller's folder in INIT_CWD.
    const env = { ...process.env, ATTRIBUTION_NO_BUILD: '1', npm_lifecycle_event: 'attribution', INIT_CWD: folder };
    const r = spawnSync(process.execPath, ['packages/cli/src/launch.mjs', 'inspect', path.basename(digits)], { cwd: repo, env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^digits_cnn\.onnx: opset \d+/);
    // Run directly (no package script), INIT_CWD left over from elsewhere is ignored.
    const direct = spawnSync(process.execPath, ['packages/cli/src/launch.mjs', 'inspect', path.basename(digits)], { cwd: repo, env: { ...env, npm_lifecycle_event: '' }, encoding: 'utf8' });
    expect(direct.status).toBe(1);
    expect(direct.stderr).toMatch(/^attribution: model: expected a readable ONNX file, got 'digits_cnn\.onnx'/);
  });
});

describe('docs/cli.md', () => {
  const docs = path.join(repo, 'docs/cli.md');

  it('lists every flag of every subcommand, as generated from the parser (regenerate: pnpm --filter @attribution/cli gen-docs)', () => {
    const text = fs.readFileSync(docs, 'utf8');
    const fresh = renderFlagTables(text, program());
    expect(fresh === text, 'docs/cli.md is out of date: run pnpm --filter @attribution/cli gen-docs').toBe(true);
    for (const [name, c] of documentedCommands(program())) {
      const table = text.slice(text.indexOf(`<!-- flags:${name}:start -->`), text.indexOf(`<!-- flags:${name}:end -->`));
      for (const option of c.options) expect(table, `${name} ${option.flags}`).toContain(`\`${option.flags.replace(/\|/g, '\\|')}\``);
      for (const argument of c.registeredArguments) expect(table, `${name} <${argument.name()}>`).toContain(`\`<${argument.name()}>\``);
    }
  });

  it('escapes what markdown and VitePress would read: pipes, HTML, emphasis, {{', () => {
    const text = renderFlagTables(fs.readFileSync(docs, 'utf8'), program());
    const rows = text.split('\n').filter((l) => l.startsWith('| `'));
    for (const row of rows) {
      // Exactly three unescaped pipes: the cell borders.
      expect(row.replace(/\\\|/g, '').match(/\|/g)?.length, row).toBe(3);
      expect(row.replace(/<code v-pre>(\{\{|\}\})<\/code>/g, ''), row).not.toMatch(/\{\{|\}\}/);
    }
    expect(text).toContain('<code v-pre>{{</code> and <code v-pre>}}</code> are braces');
    expect(text).toContain('heat\\_map');
  });

  it('refuses a document without a table for a subcommand', () => {
    expect(() => renderFlagTables('# The command line\n', program())).toThrow(/no flag table for attribution, explain, explain-dataset, explain-text, attack, concept, influence, inspect, verify, merge, cache, demo/);
  });
});
