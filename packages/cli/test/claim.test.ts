import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'npyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const dist = path.join(here, '../dist/index.js');
const samples = JSON.parse(fs.readFileSync(path.join(here, '../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { images: number[][] };

/**
 * A process that runs the CLI (the built one) in-process for every argv it is sent, and answers with the exit
 * code: two of them run two commands truly at once, without paying a process start per run.
 */
const RUNNER = `
const { main } = await import(process.env.ATTRIBUTION_DIST);
process.on('message', async ({ argv, at }) => {
  // Both runners start at the same instant (a shared deadline), so their runs overlap as much as possible.
  while (Date.now() < at);
  let err = '';
  const code = await main(argv, { out: () => {}, err: (t) => { err += t; } });
  process.send({ code, err });
});
process.send('ready');
`;

interface Runner {
  readonly child: ChildProcess;
  run(argv: string[], at: number): Promise<{ code: number; err: string }>;
}

async function runner(): Promise<Runner> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', RUNNER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, ATTRIBUTION_DIST: dist } });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`runner exited with ${code}`)));
  });
  return {
    child,
    run: (argv, at) =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m as { code: number; err: string }));
        child.send({ argv, at });
      }),
  };
}

describe('explain-dataset claims its folder atomically', () => {
  let runners: Runner[] = [];
  beforeAll(async () => {
    runners = await Promise.all([runner(), runner()]);
  });
  afterAll(() => runners.forEach((r) => r.child.kill()));

  it('of two different runs started at once into one empty folder, exactly one is accepted (50 times)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-claim-'));
    const stack = path.join(dir, 'two.npy');
    fs.writeFileSync(stack, new Uint8Array(dump(Float32Array.from(samples.images.slice(0, 2).flat()), [2, 1, 8, 8])));
    const both: number[] = [];
    for (let i = 0; i < 50; i++) {
      const out = path.join(dir, `run-${i}`);
      const common = ['explain-dataset', digits, '--inputs', stack, '--method', 'saliency', '--batch-size', '2', '--out', out];
      const at = Date.now() + 15;
      const [a, b] = await Promise.all([runners[0]!.run([...common, '--target', '3'], at), runners[1]!.run([...common, '--target', '4'], at)]);
      if (a.code === 0 && b.code === 0) both.push(i);
      // The other one is refused with one clear line naming what differs.
      for (const r of [a, b]) if (r.code !== 0) expect(r.err).toMatch(/^attribution: --out: expected an empty folder, or one holding the same run .*differs in target \('[34]' here, '[34]' in the manifest\)/);
      expect([a.code, b.code].sort(), `run ${i}: ${a.err}${b.err}`).toEqual([0, 1]);
    }
    expect(both, 'iterations where both runs were accepted').toEqual([]);
  }, 60_000);
});
