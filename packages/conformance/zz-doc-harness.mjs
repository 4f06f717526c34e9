// Extracts ```ts blocks from markdown files, typechecks and runs them. A block starting with `import` starts
// a program; a block starting otherwise continues the previous program.
import { readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import ts from '../../node_modules/typescript/lib/typescript.js';
const files = process.argv.slice(2);
const dir = new URL('./zz-doc-snippets/', import.meta.url).pathname;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir);
const programs = [];
for (const f of files) {
  const md = readFileSync(f, 'utf8');
  const re = /```ts\n([\s\S]*?)```/g;
  let m;
  while ((m = re.exec(md))) {
    const code = m[1];
    const line = md.slice(0, m.index).split('\n').length;
    if (/fromTfjs\(|fromOnnx\(/.test(code) || programs.length === 0) programs.push({ file: f, line, parts: [code] });
    else {
      const setup = [...programs].reverse().find((p) => p.file === f && p.parts[0].includes("tap('hidden'")) ?? programs[programs.length - 1];
      setup.parts.push(`// --- ${f}:${line}\n` + code);
    }
  }
}
programs.forEach((p, i) => writeFileSync(`${dir}p${i}.mts`, p.parts.join('\n') + '\nexport {};\n'));
const only = process.env.ONLY ? process.env.ONLY.split(',').map(Number) : undefined;
if (!process.env.NOCHECK) {
  const r = spawnSync('node', ['../../node_modules/typescript/bin/tsc', '--noEmit', '--strict', '--noUncheckedIndexedAccess', '--target', 'ES2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', '--lib', 'ES2022,DOM', '--types', 'node', '--resolveJsonModule', ...programs.map((_, i) => `${dir}p${i}.mts`)], { encoding: 'utf8', cwd: new URL('.', import.meta.url).pathname });
  console.log('typecheck:', r.status === 0 ? 'ok' : r.stdout + r.stderr);
}
for (const [i, p] of programs.entries()) {
  if (only && !only.includes(i)) continue;
  const js = ts.transpileModule(p.parts.join('\n'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  writeFileSync(`${dir}p${i}.mjs`, js);
  const r = spawnSync('node', [`${dir}p${i}.mjs`], { encoding: 'utf8', cwd: '/work/main' });
  const err = r.stderr.split('\n').filter((l) => l && !/^(=+|Hi, looks like.*|.*tfjs-node.*)$/.test(l)).join('\n');
  console.log(`=== p${i} ${p.file}:${p.line} (${p.parts.length} blocks) exit ${r.status}\n${r.stdout}${err ? 'STDERR: ' + err + '\n' : ''}`);
}
